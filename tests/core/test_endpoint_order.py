"""The one-shot's output order (core.commands.connections.by_endpoints): the same as sorting
by the (local address, local port, remote address, remote port) tuple, ties kept in order."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from core.commands.connections import by_endpoints
from core.connections.model import OwnerStatus, TcpConnection, TcpState
from core.connections.records import LINUX_DEFAULTS, build_connection

SEEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
# Text order is not numeric order ("10.0.0.10" < "10.0.0.2"), and one address can be the
# start of another ("::1" and "::10").
ADDRESSES = ("10.0.0.2", "10.0.0.10", "10.0.0.1", "::1", "::10", "::", "0.0.0.0", "fe80::1%2")
PORTS = (0, 1, 80, 443, 8080, 65535)


def _conn(local: str, lport: int, remote: str, rport: int, netns: int | None) -> TcpConnection:
    family = 6 if ":" in local else 4
    return build_connection(
        family, local, lport, remote, rport, TcpState.ESTABLISHED, None, OwnerStatus.NOT_FOUND,
        SEEN, True, LINUX_DEFAULTS, 1, 0, b"key", None, None, 0, "", (), netns,
    )  # fmt: skip


def _tuple_order(rows: list[TcpConnection]) -> list[TcpConnection]:
    return sorted(
        rows, key=lambda c: (c.local_address, c.local_port, c.remote_address, c.remote_port)
    )


endpoint = st.tuples(
    st.sampled_from(ADDRESSES), st.sampled_from(PORTS), st.sampled_from(ADDRESSES),
    st.sampled_from(PORTS), st.sampled_from((None, 4026531993)),
)  # fmt: skip


@given(st.lists(endpoint, max_size=60))
def test_the_order_is_the_tuple_order_with_ties_in_place(
    endpoints: list[tuple[str, int, str, int, int | None]],
) -> None:
    rows = [_conn(*e) for e in endpoints]
    got = by_endpoints(rows)
    # By identity: two records of equal endpoints (two namespaces) keep their order.
    assert [id(c) for c in got] == [id(c) for c in _tuple_order(rows)]


def test_equal_endpoints_in_two_namespaces_keep_their_order() -> None:
    first, second = (_conn("10.0.0.1", 80, "10.0.0.2", 5000, ns) for ns in (7, 8))
    assert by_endpoints([second, first]) == [second, first]
    assert by_endpoints([]) == []
