"""new_connection builds its record positionally (for speed): every field must land by name."""

from __future__ import annotations

from datetime import UTC, datetime

from core.connections.model import CONNECTION_FIELDS, OwnerStatus, TcpState
from core.connections.records import PlatformDefaults, instance_id, new_connection

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
