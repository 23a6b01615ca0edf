"""libreswan provider: ``ipsec whack --globalstatus`` key=value totals and gauges.

Why: libreswan's pluto keeps daemon-lifetime totals (IKEv1 ISAKMP/IPsec SAs established, failed
negotiations, ...) that match several MSiSCSI counters better than anything strongSwan has. pluto
cannot run on this test machine (libreswan conflicts with strongSwan), so the parser is tested on
text in the libreswan 4.10 format. whack runs with an argv list (never a shell string).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from typing import Final

from core.ipsec.model import ProviderReading
from core.ipsec.presence import NOT_INSTALLED
from core.ipsec.providers.base import count, invalid_value, make_reading
from core.textsafe import is_digits

NAME: Final = "libreswan"
WHACK_CANDIDATES: Final = (
    "/usr/libexec/ipsec/whack",
    "/usr/local/libexec/ipsec/whack",
    "/usr/lib/ipsec/whack",
)
_FINISH_FAIL: Final = (
    "auth-failed",
    "ts-unacceptable",
    "crypto-failed",
    "exchange-timeout",
    "crypto-timeout",
    "too-many-retransmits",
)
_NEW_STYLE: Final = "total.ikev1.isakmp.established"
"""Present since libreswan 3.28 (new-style totals); proves the histograms below are printed."""
# counter: (summed keys that must be present, summed keys pluto prints only when > 0,
#           keys whose presence proves the optional ones would be printed)
_KEYS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]]] = {
    "ActiveAcquire": (("current.states.iketype.halfopen",), (), ()),
    "AcquireFailures": (("total.ike.ikev1.failed", "total.ike.ikev2.failed"), (), ()),
    "NegotiationFailures": (
        ("total.ike.ikev1.failed", "total.ike.ikev2.failed"),
        tuple(
            f"total.{kind}.finished.{why}"
            for kind in ("ikev1.ipsec", "ikev2.child")
            for why in _FINISH_FAIL
        ),
        (_NEW_STYLE,),
    ),
    "AuthenticationFailures": (
        (),
        ("total.ikev1.isakmp.finished.auth-failed", "total.ikev2.ike.finished.auth-failed"),
        (_NEW_STYLE,),
    ),
    "InvalidCookiesReceived": (
        (),
        (
            "total.ikev1.sent.notifies.error.INVALID_COOKIE",
            "total.ikev2.sent.notifies.error.INVALID_IKE_SPI",
        ),
        (_NEW_STYLE,),
    ),
    "KeyAdditions": (("total.ipsec.type.all",), (), ()),
    "KeyUpdates": (("total.ipsec.type.all",), (), ()),
    "ConnectionListSize": (("current.states.ipsec",), (), ()),
    "OakleyMainMode": (("total.ikev1.isakmp.established", "total.ikev2.ike.established"), (), ()),
    "OakleyQuickMode": (("total.ikev1.ipsec.established", "total.ikev2.child.established"), (), ()),
    "InvalidPackets": (("total.ike.mangled",), (), ()),
    "SoftAssociations": (("current.states.shunts",), (), ()),
}
_GAUGE_PREFIXES: Final = ("current.", "config.")


def read_globalstatus(text: str) -> tuple[dict[str, int], dict[str, str]]:
    """``key=value`` lines (optionally prefixed by a 3-digit whack status code): the values
    that are numbers, and apart the others as sent (a setting's word, or a total that is no
    number: :func:`counters_from_status` says which)."""
    numbers: dict[str, int] = {}
    others: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if len(line) > 4 and is_digits(line[:3]) and line[3] == " ":
            line = line[4:].strip()
        key, sep, value = line.partition("=")
        if sep and key and " " not in key:
            if (n := count(value)) is not None:
                numbers[key] = n
            else:
                others[key] = value.strip()
    return numbers, others


def parse_globalstatus(text: str) -> dict[str, int]:
    """The ``key=value`` lines whose value is a number (see :func:`read_globalstatus`)."""
    return read_globalstatus(text)[0]


def counters_from_status(
    status: Mapping[str, int], others: Mapping[str, str] | None = None
) -> tuple[dict[str, int | None], dict[str, str]]:
    """The MSiSCSI values from a parsed globalstatus, with reasons for missing keys and for
    keys whose value (in ``others``) is no number: such a counter is not reported, not summed
    without it (a figure pluto never gave) nor said to be missing (pluto printed it)."""
    sent = others or {}
    values: dict[str, int | None] = {}
    reasons: dict[str, str] = {}
    for counter, (required, optional, proof) in _KEYS.items():
        invalid = [k for k in (*required, *optional) if k in sent]
        missing = [k for k in (*required, *proof) if k not in status and k not in sent]
        if invalid:
            values[counter] = None
            reasons[counter] = invalid_value(invalid[0], sent[invalid[0]])
            continue
        if missing:
            values[counter] = None
            added = " (added in libreswan 5.4)" if missing[0] == "total.ike.mangled" else ""
            reasons[counter] = f"not reported: this libreswan prints no {missing[0]}{added}"
            continue
        values[counter] = sum(status[k] for k in required) + sum(status.get(k, 0) for k in optional)
    return values, reasons


def find_whack() -> list[str] | None:
    """The argv prefix that runs libreswan's whack, or None when libreswan is not installed.

    whack itself when found in libreswan's libexec directory; otherwise ``ipsec whack`` if the
    ``ipsec`` on PATH is libreswan's (strongSwan also ships an ``ipsec`` script, which has no
    whack, so it is asked for its version first).
    """
    for path in WHACK_CANDIDATES:
        if os.access(path, os.X_OK):
            return [path]
    ipsec = shutil.which("ipsec")
    if ipsec is None:
        return None
    try:
        proc = subprocess.run(
            [ipsec, "--version"],
            capture_output=True,
            encoding="utf-8",
            errors="surrogateescape",
            timeout=5,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return [ipsec, "whack"] if "libreswan" in proc.stdout.lower() else None


class LibreswanProvider:
    """Runs ``whack --globalstatus`` once per sample."""

    name = NAME
    daemon = "pluto"
    """Who "did not answer" when a read is overdue (:mod:`core.ipsec.reads`)."""

    def __init__(
        self, whack: str | None = None, ctl_socket: str | None = None, timeout_s: float = 5.0
    ) -> None:
        self._whack = [whack] if whack else find_whack()
        self._ctl = ctl_socket
        self._timeout_s = timeout_s
        self.instance = f"libreswan:{ctl_socket or 'pluto.ctl'}"

    def _fail(self, reason: str, present: bool) -> ProviderReading:
        return make_reading(NAME, self.instance, {}, error=reason, available=present)

    def read(self) -> ProviderReading:
        """One reading; errors (no binary, pluto down, no permission) become the reason."""
        if self._whack is None:
            return self._fail(f"libreswan {NOT_INSTALLED} (no whack binary)", False)
        argv = [*self._whack, "--globalstatus"]
        if self._ctl:
            argv += ["--ctlsocket", self._ctl]
        try:
            proc = subprocess.run(
                argv,
                capture_output=True,
                encoding="utf-8",
                errors="surrogateescape",
                timeout=self._timeout_s,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return self._fail("whack --globalstatus timed out", True)
        except OSError as err:
            return self._fail(f"cannot run {' '.join(self._whack)} ({err.strerror or err})", False)
        out = proc.stdout + proc.stderr
        status, others = read_globalstatus(proc.stdout)
        if proc.returncode != 0 and not status:
            low = out.lower()
            if "permission denied" in low:
                return self._fail("not reported: needs root (pluto.ctl is owner-only)", True)
            if "no such file" in low or "connection refused" in low or "connect" in low:
                return self._fail("pluto not running (cannot connect to pluto.ctl)", False)
            first = out.strip().splitlines()[0][:200] if out.strip() else f"exit {proc.returncode}"
            return self._fail(f"whack failed: {first}", True)
        values, reasons = counters_from_status(status, others)
        totals = frozenset(k for k in status if not k.startswith(_GAUGE_PREFIXES))
        return make_reading(
            NAME, self.instance, values, reasons=reasons, native=status, native_totals=totals
        )

    def close(self) -> None:
        """Nothing to release (one subprocess per read)."""
