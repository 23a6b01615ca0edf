"""The ``--netns`` option: its values and its check, importable without the netlink stack.

``all`` (the default of the app, ``connections`` and ``record``) reads every namespace on
the host, which is what someone on a container host expects to see; ``current`` reads only
tcpscope's own, as ``ss`` does. A NAME is an ``ip netns`` name or a container's name or id
(prefix); a PID means that process's namespace; a PATH is an nsfs file; a label the table
shows (``ns:INODE``, ``podman:ID``) is taken too. Several may be given, comma-separated; the
option itself only once. See core.netns.select and core.netns.match for how they are resolved.
"""

from __future__ import annotations

import argparse
from typing import Final

from core.errors import UsageError
from core.textsafe import typed

ALL: Final = "all"
CURRENT: Final = "current"
DEFAULT: Final = ALL


def check(text: str) -> str:
    """``text`` if it is a well-formed ``--netns`` value, else UsageError (one line)."""
    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or not all(parts):
        raise UsageError(f"--netns: empty namespace in {text!r}")
    if len(parts) > 1 and (ALL in parts or CURRENT in parts):
        raise UsageError("--netns: 'all' and 'current' stand alone")
    return text.strip()


class _Given(argparse.Action):
    """Stores the value and marks it given (``{dest}_given``, or ``{dest}_after`` for a
    command's own option): ``--netns all`` equals the default, yet where a command acts
    elsewhere by default (``close``) it must not be taken as absent.

    Why refused twice: the last ``--netns`` silently replaced the others (``--netns A
    --netns B`` read only B), while ``--filter`` twice means both.
    """

    def __init__(self, *args: object, marker: str = "given", **kwargs: object) -> None:
        """``marker``: the suffix of the attribute that says the option was given."""
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.marker = f"{self.dest}_{marker}"

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        """Store ``values`` and note that the option was given; refuse a second one (the
        same value too: the README promises any second one is refused)."""
        earlier = getattr(namespace, self.marker, None)
        if earlier is not None and earlier == values:
            raise UsageError("--netns given twice: give it once")
        if earlier is not None:
            both = f"{typed(str(earlier))},{typed(str(values))}"
            raise UsageError(f"--netns given twice; list them: --netns {both}")
        setattr(namespace, self.dest, values)
        setattr(namespace, self.marker, values)  # (``netns_given``: see core.given)


def add_netns_argument(
    parser: argparse.ArgumentParser,
    *,
    default: object = DEFAULT,
    dest: str = "netns",
    command: bool = False,
    help: str | None = None,
) -> None:
    """``--netns all|current|NAME|PID|PATH``; ``command``: a subcommand's own option, told
    apart from the top-level one (see :func:`chosen`)."""
    parser.add_argument(
        "--netns",
        action=_Given,
        marker="after" if command else "given",
        dest=dest,
        type=check,
        default=default,
        metavar="WHICH",
        help=help
        or "network namespaces to read: all (default), current, or an ip netns or "
        "container name, a PID or an nsfs path, or a label the table shows (comma-separated)",
    )


def chosen(args: argparse.Namespace, command: str, dest: str = "netns") -> str | None:
    """The ``--netns`` a command was given, before it (top level) or after it (its own).

    Why: argparse lets a subcommand's option silently replace the top-level one
    (``tcpscope --netns A connections --netns B`` read only B).

    Raises:
        UsageError: both were given (the same value too, as ``--netns A --netns A``).
    """
    top: str | None = getattr(args, "netns_given", None)
    own: str | None = getattr(args, f"{dest}_after", None)
    if top is not None and own is not None:
        raise UsageError(
            f"{command}: --netns given twice ({typed(top)!r} before {command}, "
            f"{typed(own)!r} after)"
        )
    return own if own is not None else top
