"""new_connection builds its record positionally (for speed): every field must land by name."""

from __future__ import annotations

from datetime import UTC, datetime

from core.connections.model import (
    CONNECTION_FIELDS,
    OwnerStatus,
    TcpConnection,
    TcpState,
    connection_of,
)
from core.connections.records import (
    LINUX_DEFAULTS,
    PlatformDefaults,
    build_connection,
    finish_connection,
    instance_id,
    new_connection,
    start_connection,
)

SEEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_new_connection_puts_every_value_in_its_named_field() -> None:
    defaults = PlatformDefaults(
        offload_state=31,
        enabled_default=32,
        transitioning_to_state=33,
        requested_state=34,
        directionality=35,
    )
    rec = new_connection(
        family=6,
        local_address="2001:db8::1",
        local_port=41,
        remote_address="2001:db8::2",
        remote_port=42,
        state=TcpState.CLOSE_WAIT,
        owning_process=43,
        owner_status=OwnerStatus.FOUND,
        first_seen=SEEN,
        created_before_start=True,
        defaults=defaults,
        inode=44,
        uid=45,
        source_key=b"key",
        applied_setting=46,
    )
    set_by_rule = {
        "enabled_default": 32,
        "transitioning_to_state": 33,
        "instance_id": instance_id("2001:db8::1", 41, "2001:db8::2", 42, 44),
        "requested_state": 34,
        "directionality": 35,
        "local_address": "2001:db8::1",
        "local_port": 41,
        "remote_address": "2001:db8::2",
        "remote_port": 42,
        "state": TcpState.CLOSE_WAIT,
        "applied_setting": 46,
        "owning_process": 43,
        "creation_time": SEEN,
        "offload_state": 31,
        "family": 6,
        "owner_status": OwnerStatus.FOUND,
        "created_before_start": True,
        "inode": 44,
        "uid": 45,
        "source_key": b"key",
        "holders": (),
    }
    got = {f.name: getattr(rec, f.name) for f in CONNECTION_FIELDS}
    assert got == {name: set_by_rule.get(name) for name in got}


def test_a_sources_records_share_one_cim_object_and_rebuild_equal_from_their_fields() -> None:
    def built(port: int) -> TcpConnection:
        return new_connection(
            family=4, local_address="10.0.0.1", local_port=port, remote_address="10.0.0.2",
            remote_port=80, state=TcpState.ESTABLISHED, owning_process=None,
            owner_status=OwnerStatus.NO_OWNER, first_seen=SEEN, created_before_start=False,
            defaults=LINUX_DEFAULTS,
        )  # fmt: skip

    first, second = built(1000), built(1001)
    assert first.cim is second.cim and first.offload_state == 0 and first.caption is None
    again = connection_of(*(getattr(first, f.name) for f in CONNECTION_FIELDS))
    assert again == first and again.cim is first.cim
    # The record holds what differs per connection: 17 values and the shared object.
    assert len(TcpConnection.__slots__) == 18


def test_a_record_started_before_its_owner_is_known_equals_one_built_at_once() -> None:
    # The first sample's path (netlink._apply): every field but the owner's while the owner
    # scan runs, the owner's after it; a steady sample's: all but the owner's and CreationTime
    # during the dump.
    def started(ifindex: int, netns: int | None) -> object:
        return start_connection(
            4, "10.0.0.1", 1000, "10.0.0.2", 80, TcpState.ESTABLISHED, True, LINUX_DEFAULTS,
            44, 45, b"key", ifindex, netns,
        )  # fmt: skip

    rec = finish_connection(started(7, 4026531840), 43, OwnerStatus.FOUND, (43, 50), 44, SEEN)
    at_once = build_connection(
        4, "10.0.0.1", 1000, "10.0.0.2", 80, TcpState.ESTABLISHED, 43, OwnerStatus.FOUND, SEEN,
        True, LINUX_DEFAULTS, 44, 45, b"key", None, None, 7, "", (43, 50), 4026531840,
    )  # fmt: skip
    assert type(rec) is TcpConnection
    assert {f.name: getattr(rec, f.name) for f in CONNECTION_FIELDS} == {
        f.name: getattr(at_once, f.name) for f in CONNECTION_FIELDS
    }
    assert rec == at_once and rec.cim is at_once.cim and "%7" in rec.instance_id
    assert type(started(0, None)) is not TcpConnection  # not a record until finished
