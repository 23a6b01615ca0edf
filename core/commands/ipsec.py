"""``tcpscope ipsec [--json] [--provider …] [--vici PATH]``: one MSiSCSI_MMIPSECStats per provider.

Why here and not in tui/: the command must work without Textual (scripts, SSH, CI). The lead
mounts :func:`add_arguments` / :func:`run` in ``tui/cli.py``; bad arguments raise
:class:`core.errors.UsageError` (one line, exit 2 there).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Final, TextIO

from core import terminal
from core.commands.arg_types import VICI_HELP
from core.errors import UsageError
from core.given import Once, before_or_after
from core.ipsec import (
    CLASS_NAME,
    COUNTER_NAMES,
    PROVIDER_NAMES,
    PROVIDERS,
    IpsecSampler,
    IpsecView,
    ProviderView,
    check_vici_path,
    counters_unreachable,
    daemons_first,
    get_providers,
    one_shot_view,
    source_for,
    start_hint,
)
from core.textsafe import printable, rquoted, utf8

NO_PROVIDER: Final = "no IPsec provider found on this host"
"""Said when ``auto`` finds no source at all (``ipsec`` exits 1; ``record`` records none)."""
MIN_CELL: Final = 20
"""Columns a wrapped last cell of the table needs at least; a narrower terminal wraps the
line itself."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``ipsec`` sub-command's options (validated in :func:`run`, not by argparse)."""
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    # SUPPRESS: these defaults must not overwrite the top-level --provider / --vici; Once:
    # given there too, they are refused (see _validate).
    parser.add_argument(
        "--provider",
        action=Once,
        marker="after",
        default=argparse.SUPPRESS,
        metavar="|".join(PROVIDER_NAMES),
        help="which source to read (default: auto = every one present)",
    )
    parser.add_argument(
        "--vici",
        action=Once,
        marker="after",
        default=argparse.SUPPRESS,
        metavar="PATH",
        help=VICI_HELP,
    )


def _validate(args: argparse.Namespace) -> tuple[str, str | None]:
    for option in ("--provider", "--vici"):  # before ipsec and after it: refused
        before_or_after(args, "ipsec", option, option.removeprefix("--"))
    provider = str(getattr(args, "provider", "auto")).strip().lower()
    if provider not in PROVIDER_NAMES:
        names = ", ".join(PROVIDER_NAMES)
        raise UsageError(f"--provider must be one of {names}, not {rquoted(provider)}")
    vici: str | None = getattr(args, "vici", None)
    # The app's check too (core.commands.feeds). With --remote the path names a socket on the
    # server: the agent checks it there (core.commands.agent); here only that one was given.
    check_vici_path(vici, exists_here=getattr(args, "remote", None) is None)
    return provider, vici


def instance_json(pv: ProviderView) -> dict[str, object]:
    """One provider as a WMI-named instance plus ``provenance`` per counter.

    Texts (the error, each reason) are the true text, as ``InstanceName`` is: JSON escapes
    what it must, and a consumer reads the path or daemon text itself. Escaping for a
    terminal (:func:`printable`) belongs to the table and stderr; here it turned an ESC into
    a literal backslash-x1b for every JSON reader. Bytes that were not UTF-8 have no true
    text: :func:`view_json` escapes those (``\\xff``) and doubles each backslash.
    """
    out = pv.stats.to_wmi()
    out["provider"] = pv.name
    out["error"] = pv.error
    out["provenance"] = {
        r.name: {
            "provider": r.provider,
            "expression": r.source,
            "grade": r.grade.value,
            "reason": r.reason,
            "grade_reason": _grade_reason(r.name, r.provider, pv.version),
            "scope": r.scope,
            "lower_bound": r.lower_bound,
        }
        for r in pv.rows
    }
    return out


def _grade_reason(counter: str, provider: str, version: str | None) -> str | None:
    """Why the counter has its grade: for an approximation, what it counts instead."""
    if provider not in PROVIDERS:
        return None  # the demo host: its provenance is in the expression
    return source_for(counter, provider, version).reason


def view_json(view: IpsecView) -> dict[str, object]:
    """The whole view as the ``--json`` document (instances in the table's order), every
    text valid UTF-8 (:func:`_valid`)."""
    doc = {
        "class": CLASS_NAME,
        "time": view.time.isoformat(),
        "instances": [instance_json(p) for p in daemons_first(view.providers)],
    }
    return {key: _valid(value) for key, value in doc.items()}


def _valid(value: object) -> object:
    """``value`` with each text in it made valid UTF-8 (:func:`utf8`: a byte that was not
    UTF-8 as ``\\xff``, a backslash as ``\\\\``). Why every text and not named fields:
    daemon bytes reach the path, the error, the reasons and the daemon's keys, and a field
    added later would let them through again as lone surrogates, or its backslashes pass
    for such escapes."""
    if isinstance(value, str):
        return utf8(value)
    if isinstance(value, dict):
        return {_valid(k): _valid(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_valid(v) for v in value]
    return value


def render_text(
    view: IpsecView, out: TextIO, columns: int | None = None, tcpscope: str = "tcpscope"
) -> None:
    """Aligned table per provider: counter, value, kind, grade, source or reason.

    The IKE daemons come before the kernel, as on the app's screen; a daemon that is not
    running gets its error and how to start it instead of 21 rows that each say so (``--json``
    still lists every counter with its grade). With ``columns`` (a terminal's width) the last
    cell wraps under itself; without, each counter is one line (for scripts and ``grep``).
    """
    width = max(len(n) for n in COUNTER_NAMES)
    for i, pv in enumerate(daemons_first(view.providers)):
        if i:
            out.write("\n")
        state = "active" if pv.stats.active else "inactive"
        head = (
            f"{CLASS_NAME} InstanceName={printable(pv.stats.instance_name)} "
            f"Active={pv.stats.active} ({pv.name}, {state}"
            f"{', ' + printable(pv.version) if pv.version else ''})"
        )
        out.write(f"{_cell(head, 0, columns, hang=4)}\n")
        if pv.error:
            out.write(f"  error: {_cell(printable(pv.error), 9, columns)}\n")
        if counters_unreachable(pv):
            hint = start_hint(pv, tcpscope)
            out.writelines(f"  {_cell(line, 2, columns, hang=4)}\n" for line in hint)
            continue
        vals = [("-" if r.value is None else str(r.value)) for r in pv.rows]
        vw = max(5, *(len(v) for v in vals))
        out.write(
            f"  {'Counter':<{width}}  {'Value':>{vw}}  {'Kind':<5}  {'Grade':<6}  Source / reason\n"
        )
        for r, v in zip(pv.rows, vals, strict=True):
            detail = r.reason if r.value is None and r.reason else r.source
            if r.value is not None and r.scope:
                detail += f" ({r.scope})"
            if r.value is not None and r.lower_bound:
                detail += f"; {r.lower_bound}"
            head = f"  {r.name:<{width}}  {v:>{vw}}  {r.kind.value:<5}  {r.grade.value:<6}  "
            out.write(f"{head}{_cell(printable(detail or ''), len(head), columns)}\n")


def _cell(text: str, at: int, columns: int | None, hang: int | None = None) -> str:
    """The last cell of a line, starting at column ``at``, wrapped to fit ``columns``: its
    next lines start under it (or at column ``hang``). One line when there is no terminal or
    no room worth wrapping into."""
    indent = at if hang is None else hang
    if columns is None or columns - max(at, indent) < MIN_CELL:
        return text
    lines = textwrap.wrap(
        text, columns, initial_indent=" " * at, subsequent_indent=" " * indent,
        break_on_hyphens=False,
    )  # fmt: skip
    return "\n".join(lines)[at:]  # the first line's indent is the row's own head


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Take one sample and print it; returns the exit code.

    Raises:
        UsageError: bad ``--provider`` or ``--vici``.
    """
    stream = out or sys.stdout
    provider, vici = _validate(args)
    from core.remote import remote_ipsec_view, rerun_words, target_from

    remote = target_from(args)
    if remote is not None:
        sample = remote_ipsec_view(remote, provider, vici)
    else:
        sampler = IpsecSampler.one_shot(get_providers(provider, vici))
        try:
            sample = sampler.sample()
        finally:
            sampler.close()
    # One sample has received no events, here or on the server: the totals tcpscope counts
    # from them are not reported, with the reason (never a 0 it cannot vouch for).
    view = one_shot_view(sample)
    if getattr(args, "json", False):
        json.dump(view_json(view), stream, indent=2)
        stream.write("\n")
    else:
        rerun = "tcpscope" if remote is None else rerun_words(remote)
        render_text(view, stream, terminal.columns(stream), rerun)
    return _exit_code(view, provider)


def _exit_code(view: IpsecView, provider: str) -> int:
    """1 when the sample answers nothing asked for: a provider named with ``--provider`` that
    is not active (charon not running, no permission), or under ``auto`` no provider active,
    or charon named by ``--vici`` not active (the socket given names strongSwan, as
    ``--provider strongswan`` does: the kernel's counters are no answer to it). The table or
    JSON is still printed (it says why per counter); the exit code and one line on stderr
    per provider asked for are for scripts and cron checks, which should not read a dead
    daemon as a healthy one."""
    inactive = [pv for pv in view.providers if not pv.stats.active]
    if provider == "auto":
        named = [pv for pv in inactive if pv.vici_given]  # (only charon's view has a socket)
        some = len(inactive) < len(view.providers)
        answered = some and not named
        blamed = named if some else inactive
    else:
        answered = bool(view.providers) and not inactive
        blamed = inactive
    if answered:
        return 0
    for pv in blamed:
        why = printable(pv.error) if pv.error else "not active"
        print(f"tcpscope: ipsec: {pv.name}: {why}", file=sys.stderr)
    if not view.providers:
        print(f"tcpscope: ipsec: {NO_PROVIDER}", file=sys.stderr)
    return 1
