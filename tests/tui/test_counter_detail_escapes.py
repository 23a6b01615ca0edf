"""The IPsec counter detail pane shows a daemon's reason text escaped.

Why: the table escaped and cut it, but the pane printed the whole reason as sent: a whack or
VICI peer sending ``ESC[2J`` in a counter's value (quoted in the "invalid value" reason)
cleared the operator's terminal, and bytes that are not UTF-8 read ``\\udcff``.
"""

from __future__ import annotations

from pathlib import Path

from core.ipsec import IpsecSampler
from core.ipsec.providers.libreswan import LibreswanProvider
from tests.ipsec.test_parsers import DATA, _fake_whack
from tui.ipsec.counter_detail import grade_text, summary_text

HOSTILE = b"a\x1b[2J\xff\xfe"


def test_a_daemons_invalid_value_is_escaped_in_the_pane(tmp_path: Path) -> None:
    sample = (DATA / "libreswan-4.10-globalstatus.txt").read_bytes()
    kept = [ln for ln in sample.splitlines() if not ln.startswith(b"total.ike.ikev1.failed=")]
    (tmp_path / "status").write_bytes(b"\n".join([*kept, b"total.ike.ikev1.failed=" + HOSTILE]))
    whack = _fake_whack(tmp_path, f"cat {tmp_path}/status")
    sampler = IpsecSampler([LibreswanProvider(whack=whack)], interval_s=1.0)
    try:
        (view,) = sampler.sample().providers
    finally:
        sampler.close()
    row = view.row("NegotiationFailures")
    assert row.value is None and row.reason is not None and "invalid value" in row.reason
    for text in (summary_text(row).plain, grade_text(row, view.version).plain):
        assert "\x1b" not in text and "\udcff" not in text, text
    assert "a\\x1b[2J\\xff\\xfe" in summary_text(row).plain
