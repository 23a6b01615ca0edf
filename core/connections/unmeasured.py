"""Which tcp_info figures of a socket are not measurements, and why: one rule for every view.

Why: a listener exchanges no data, so the kernel's ``tcp_get_info`` gives it the initial
values of a socket that sent nothing (rtt 0, cwnd 10, mss 0, byte and retransmit counts 0),
and in ``tcpi_unacked``/``tcpi_sacked`` its accept queue and backlog. A connection has no rtt
sample until something it sent is acknowledged (a SYN nobody answers): the kernel gives 0 and
its initial variance, and ``ss`` prints no rtt. Shown as figures, a script reads rtt 0 as a
measured 0 ms. The detail pane, its summary and ``connections --json`` all say "not measured"
with the reason, from here; a listener's queues (Recv-Q, Send-Q) are measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from types import MappingProxyType
from typing import Final

from core.connections.model import TcpInfo, TcpState

LISTENER_NOT_MEASURED: Final = (
    "not measured: a listener exchanges no data (the kernel's figures for it are initial "
    "values); each accepted connection is measured on its own row"
)
LISTENER_UNACKED: Final = (
    "not measured: a listener's tcpi_unacked holds its accept queue, not segments (given as "
    "recv_q, its backlog as send_q)"
)
NOTHING_ACKED: Final = "not measured yet: nothing acknowledged"
"""A connection's rtt and its variance while the kernel has no sample (its rtt is 0)."""
NO_MSS_YET: Final = "not known yet: the route has not given one"
"""A connection's snd_mss while the kernel's is 0."""
_LISTENER: Final[Mapping[str, str]] = MappingProxyType(
    {
        **dict.fromkeys(
            ("rtt_us", "rttvar_us", "snd_cwnd", "snd_mss", "retransmits", "total_retrans",
             "bytes_acked", "bytes_received"),
            LISTENER_NOT_MEASURED,
        ),
        "unacked": LISTENER_UNACKED,
        "lost": LISTENER_NOT_MEASURED,
        "retrans": LISTENER_NOT_MEASURED,
    }
)  # fmt: skip
_NO_RTT: Final[Mapping[str, str]] = {"rtt_us": NOTHING_ACKED, "rttvar_us": NOTHING_ACKED}
_NO_MSS: Final[Mapping[str, str]] = {"snd_mss": NO_MSS_YET}
_YET: Final[Mapping[tuple[bool, bool], Mapping[str, str]]] = {
    (no_rtt, no_mss): MappingProxyType(
        {**(_NO_RTT if no_rtt else {}), **(_NO_MSS if no_mss else {})}
    )
    for no_rtt in (False, True)
    for no_mss in (False, True)
}
"""A connection's unmeasured fields by (rtt 0, mss 0); (False, False) is empty."""

_FIELDS: Final = tuple(TcpInfo.__dataclass_fields__)
_RTT: Final = itemgetter(_FIELDS.index("rtt_us"))
_MSS: Final = itemgetter(_FIELDS.index("snd_mss"))


def not_measured(state: TcpState | None, info: TcpInfo | None) -> Mapping[str, str]:
    """The :class:`core.connections.model.TcpInfo` fields of a socket in ``state`` whose
    kernel value ``info`` is not a measurement, each with why (empty: every field is
    measured). Without ``info`` only what ``state`` alone says (a listener's)."""
    if state is TcpState.LISTEN:
        return _LISTENER
    if info is None:
        return _YET[False, False]
    return _YET[not info.rtt_us, not info.snd_mss]


def maybe_unmeasured(values: Sequence[Sequence[int | None]]) -> list[int]:
    """The indices of ``values`` (TcpInfo field values in declaration order, one socket
    each) whose rtt or mss is 0: of a connection, those :func:`not_measured` names.

    Why: the JSON writer formats 50k rows' tcp_info in bulk as if all were measured and
    redoes only these and its listeners; two C-level passes find that there are none."""
    if all(map(_RTT, values)) and all(map(_MSS, values)):
        return []
    return [i for i, row in enumerate(values) if not (_RTT(row) and _MSS(row))]
