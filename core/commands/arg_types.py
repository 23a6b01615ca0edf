"""argparse types for every number and name on the command line: finite, in range, ASCII.

Why one place: ``float()`` accepts ``nan``, ``inf`` and ``1e308``, and ``int()`` accepts
``٤٤٣`` (Arabic-Indic digits), ``1_000`` and surrounding blanks; each of those once got past a
check and wedged the sampler (a NaN ghost TTL never expires, an infinite one overflows
``timedelta``). Every numeric option is parsed here and rejected (exit 2 with one line) when it
is not a plain finite number inside its documented range.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Sequence
from typing import Final

from core.given import before_or_after, given, mark
from core.textsafe import rquoted

_DECIMAL: Final = re.compile(r"[0-9]+")
_REAL: Final = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")

MAX_GHOST_TTL_S: Final = 86_400.0
"""A day; also the largest ghost TTL a recording header may carry (core.recording.format)."""
MAX_DURATION_S: Final = 366 * 86_400.0
_DAY_S: Final = 86_400
MAX_SEED: Final = 2**32 - 1


class AllWords(argparse.Action):
    """An option that may repeat, whose values AND together: ``--filter A --filter B`` is
    ``A B``. Why: with argparse's default the last one silently replaced the others, and
    ``close --filter lport:7070 --filter state:est`` chose every Established connection."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[object] | None,
        option_string: str | None = None,
    ) -> None:
        """Append this occurrence's value to what earlier ones gave."""
        before = getattr(namespace, self.dest, None) or ""
        setattr(namespace, self.dest, f"{before} {values}".strip())
        mark(namespace, self.dest)


def real(text: str) -> float:
    """``text`` as a finite decimal number (ASCII only), else an ArgumentTypeError."""
    if not _REAL.fullmatch(text):
        raise argparse.ArgumentTypeError(f"not a number: {rquoted(text)}")
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {rquoted(text)}")
    return value


def integer(text: str, low: int, high: int, what: str = "value") -> int:
    """``text`` as an ASCII decimal integer within ``low``–``high``."""
    if not _DECIMAL.fullmatch(text):
        raise argparse.ArgumentTypeError(f"not a whole number (digits 0-9): {rquoted(text)}")
    if len(text) > 20 or not low <= int(text) <= high:
        raise argparse.ArgumentTypeError(f"{what} out of range {low}-{high}: {text}")
    return int(text)


def _seconds_text(value: float) -> str:
    """``value`` seconds as a person reads a limit: ``31622400 s (366 days)``, never
    ``3.16224e+07 s`` (what ``:g`` makes of it); whole days are said in days too."""
    number = f"{value:.0f}" if value == int(value) else f"{value:g}"
    if value < 2 * _DAY_S or value % _DAY_S:
        return f"{number} s"
    return f"{number} s ({value / _DAY_S:.0f} days)"


def seconds_between(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    """An argparse type: seconds within ``low``–``high`` (``low`` excluded when ``low_open``)."""

    def parse(text: str) -> float:
        value = real(text)
        if (value <= low if low_open else value < low) or value > high:
            bound = f"more than {low:g}" if low_open else f"at least {low:g}"
            raise argparse.ArgumentTypeError(
                f"must be {bound} and at most {_seconds_text(high)}, got {text}"
            )
        return value

    return parse


def whole_between(low: int, high: int, what: str = "value") -> Callable[[str], int]:
    """An argparse type: an integer within ``low``–``high``."""

    def parse(text: str) -> int:
        return integer(text, low, high, what)

    return parse


def non_empty(what: str) -> Callable[[str], str]:
    """An argparse type: a string that is not empty or blank."""

    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"{what} must not be empty")
        return text

    return parse


PROVIDER_METAVAR: Final = "auto|kernel|strongswan|libreswan"
"""``--provider``'s values as ``--help`` shows them: core.ipsec's PROVIDER_NAMES spelled out,
since importing that package (~45 ms) would slow every run (tests/test_readme.py checks they
agree)."""


VICI_HELP: Final = "strongSwan VICI socket (default: /var/run/charon.vici)"
"""``--vici``'s help, before ``ipsec`` and after it: core.ipsec's DEFAULT_VICI spelled out,
as :data:`PROVIDER_METAVAR` is (tests/hostile/test_ignored_globals.py checks they agree)."""


def provider_name(text: str) -> str:
    """An argparse type: an IPsec provider name (``auto`` or one of the providers)."""
    name = text.strip().lower()
    if name == "auto":  # the default, converted on every run: no need for the providers
        return name
    from core.ipsec import PROVIDER_NAMES

    if name not in PROVIDER_NAMES:
        raise argparse.ArgumentTypeError(f"one of {', '.join(PROVIDER_NAMES)}, not {rquoted(text)}")
    return name


GLOBAL_OPTIONS: Final = (
    "interval",
    "source",
    "netns",
    "ghost_ttl",
    "no_ipsec",
    "provider",
    "vici",
    "replay",
    "demo",
    "seed",
    "redact",
    "filter",
    "remote",
    "remote_sudo",
    "remote_python",
)
_REMOTE: Final = frozenset({"remote", "remote_sudo", "remote_python"})
_SAMPLING: Final = frozenset(GLOBAL_OPTIONS) - {"filter"}
GLOBALS_USED_BY: Final[dict[str, frozenset[str]]] = {
    "connections": frozenset({"source", "netns", "filter"}) | _REMOTE,
    "close": frozenset({"source", "netns", "filter"}) | _REMOTE,  # --netns: as close --netns
    "ipsec": frozenset({"provider", "vici"}) | _REMOTE,
    "explain": frozenset(),
    "record": _SAMPLING,
    # Not --remote: an exporter over SSH kept serving the last figures (ipsec_up 1, the sample
    # gauges) after the link dropped; Prometheus should scrape an exporter on the server.
    # Nor --ghost-ttl: the exporter counts open connections; closed ones are not kept.
    # Nor --redact: its pseudonyms (netns labels, the journal's socket path) took a new key at
    # each start, so every restart made new series.
    "metrics": _SAMPLING - _REMOTE - {"ghost_ttl", "redact"},
}
"""Which top-level options each command honours; the app honours all."""
WHY_NOT: Final = {
    ("record", "filter"): "a recording keeps every connection; filter when replaying it "
    "(tcpscope --replay FILE --filter EXPR)",
    ("metrics", "filter"): "the exporter counts every connection",
    ("metrics", "remote"): "run the exporter on the server and let Prometheus scrape it there",
    ("metrics", "ghost_ttl"): "the exporter counts open connections; closed ones are not kept",
    ("metrics", "redact"): "let only the Prometheus servers reach the exporter; pseudonyms "
    "would change at every restart",
    ("ipsec", "netns"): "IPsec counters come from the namespace tcpscope runs in",
}
"""The reason added to a refusal where "does not apply" alone would leave the user guessing."""

_MADE_UP: Final = "the demo's IPsec figures are made up"
_REPLAYED: Final = "the recording's IPsec figures are replayed"
_NOT_READ: Final = "no IPsec counters are read"
_MADE_UP_ROWS: Final = "the demo's connections are made up"
_SEED: Final = "--seed picks --demo's made-up data"
MOOT_WITH: Final[tuple[tuple[str, str, str], ...]] = (
    ("demo", "provider", _MADE_UP),
    ("demo", "vici", _MADE_UP),
    ("replay", "provider", _REPLAYED),
    ("replay", "vici", _REPLAYED),
    ("replay", "interval", "a replay keeps the recording's own interval"),
    ("replay", "netns", "a replay shows the namespaces the recording holds"),
    ("replay", "no_ipsec", "a replay shows the recording whole, its IPsec figures too"),
    ("no_ipsec", "provider", _NOT_READ),
    ("no_ipsec", "vici", _NOT_READ),
    ("replay", "remote", "the recording is replayed on this machine"),
    ("replay", "source", "the recording's connections are replayed"),
    ("replay", "seed", _SEED),
    ("demo", "source", _MADE_UP_ROWS),
    ("demo", "netns", _MADE_UP_ROWS),
    ("remote", "demo", "the server's connections are shown"),
    ("remote", "source", "the server's agent reads its sockets with netlink (sock_diag)"),
)
"""(mode, option, why): an option the app and every command drop once ``mode`` is given —
``--demo --vici PATH`` recorded invented counters and never opened PATH; ``--replay F record
OUT --interval 2`` re-recorded F whole at F's own interval. ``--redact`` is not here: a
re-record applies it."""
OWN_OPTIONS: Final[dict[str, tuple[str, ...]]] = {
    "interval": ("record_interval", "metrics_interval"),
    "no_ipsec": ("record_no_ipsec", "metrics_no_ipsec"),
    "netns": ("netns_after",),
}
"""Where a command's own option of the same name is stored (``record --no-ipsec``)."""
BEFORE_AND_AFTER: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "connections": (("source", "source"),),
    "close": (("source", "source"),),
    "record": (("interval", "record_interval"),),
    "metrics": (("interval", "metrics_interval"),),
}
"""(top-level dest, the command's own dest) of an option a command takes before it and after
it (core.given.Once, ``marker="after"``): given both ways, refused, as ``tcpscope --interval 1
record F --interval 2`` recorded every 2 s unsaid. ``--netns`` (core.netns.chosen) and
``ipsec``'s ``--provider``/``--vici`` are told apart where they are read."""


def _anywhere(args: argparse.Namespace, dest: str) -> bool:
    """Whether option ``dest`` was given, before the command or as the command's own."""
    own = (getattr(args, name, None) for name in OWN_OPTIONS.get(dest, ()))
    return given(args, dest) or any(value is not None and value is not False for value in own)


def _refuse_moot(args: argparse.Namespace) -> None:
    """UsageError for the first option that :data:`MOOT_WITH` says its mode drops."""
    from core.errors import UsageError

    for mode, dest, why in MOOT_WITH:
        if _anywhere(args, mode) and _anywhere(args, dest):
            option, with_ = ("--" + d.replace("_", "-") for d in (dest, mode))
            raise UsageError(f"{option} does not apply with {with_}: {why}")
    if given(args, "seed") and not _anywhere(args, "demo"):
        raise UsageError("--seed needs --demo (it picks the demo's made-up data)")


def refuse_ignored_globals(
    command: str | None, args: argparse.Namespace, parser: argparse.ArgumentParser
) -> None:
    """UsageError when a top-level option was given that ``command`` (None: the app) would
    silently ignore (``tcpscope --replay f connections`` must not print the live host), even
    at its default value (``--ghost-ttl 5 metrics``): each one's action marks it given
    (core.given); or one that another option makes moot (:data:`MOOT_WITH`); or one given
    both before the command and after it (:data:`BEFORE_AND_AFTER`)."""
    from core.errors import UsageError

    for dest, own in BEFORE_AND_AFTER.get(command or "", ()):
        before_or_after(args, str(command), "--" + dest.replace("_", "-"), dest, own)
    provider = getattr(args, "provider", "auto")
    if getattr(args, "vici", None) is not None and provider not in ("auto", "strongswan"):
        raise UsageError(
            f"--vici does not apply with --provider {provider}: it is strongSwan's socket "
            "(charon's VICI)"
        )
    for dest in GLOBAL_OPTIONS:
        if dest not in GLOBALS_USED_BY.get(command or "", GLOBAL_OPTIONS) and given(args, dest):
            option = "--" + dest.replace("_", "-")
            why = WHY_NOT.get((command or "", dest))
            raise UsageError(
                f"{option} does not apply to `tcpscope {command}`" + (f": {why}" if why else "")
            )
    _refuse_moot(args)
