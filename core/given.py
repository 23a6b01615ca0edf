"""Whether a command-line option was given, whatever its value.

Why: a top-level option a command would ignore is refused (core.commands.arg_types), and
"given" was told by comparing the value with the default, so ``--ghost-ttl 5 metrics`` (5 is
the default) ran while ``--ghost-ttl 30 metrics`` was refused. Every top-level option's action
marks ``{dest}_given`` when it appears on the command line instead: one rule for all. And every
option that takes one value takes it once (:class:`Once`), before a command or after it.
"""

from __future__ import annotations

import argparse

from core.errors import UsageError
from core.textsafe import typed


def mark(namespace: argparse.Namespace, dest: str, value: object = True) -> None:
    """Note that the option stored in ``dest`` was given (``value``: what to note)."""
    setattr(namespace, f"{dest}_given", value)


def given(args: argparse.Namespace, dest: str) -> bool:
    """Whether the option stored in ``dest`` appeared on the command line (:class:`Once`
    notes the value given, which may be ``''``)."""
    noted = getattr(args, f"{dest}_given", None)
    return noted is not None and noted is not False


class GivenFlag(argparse.Action):
    """argparse's ``store_true``, noting that the option was given."""

    def __init__(
        self, option_strings: list[str], dest: str, default: bool = False, help: str | None = None
    ) -> None:
        """A flag: no value; True when given."""
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        """Store True and mark the option given."""
        setattr(namespace, self.dest, True)
        mark(namespace, self.dest)


class Once(argparse.Action):
    """argparse's ``store`` for every option that takes one value: a second one is refused.
    Notes the value as ``{dest}_given`` (so :func:`given` tells it), or as ``{dest}_after``
    for a command's own option that the top level has too (``marker="after"``: ``tcpscope
    --vici A ipsec --vici B``), for :func:`before_or_after`.

    Why: argparse lets a later one silently replace an earlier one (``--interval 1
    --interval 5`` sampled every 5 s, ``close --remote-port 443 --remote-port 22`` chose 22).
    Options meant to repeat have their own actions (``--filter``: AllWords; ``--state``:
    append); a flag given twice says the same thing twice.
    """

    def __init__(self, *args: object, marker: str = "given", **kwargs: object) -> None:
        """``marker``: the suffix of the attribute that notes the value given."""
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.marker = f"{self.dest}_{marker}"

    def twice(self, earlier: object, values: object) -> str:
        """What to say when the option comes a second time (``earlier``, now ``values``)."""
        return f"{self.option_strings[0]} given twice: give it once"

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        """Store ``values`` and note them; refuse a second one (the same value too)."""
        earlier = getattr(namespace, self.marker, None)
        if earlier is not None:
            raise UsageError(self.twice(earlier, values))
        setattr(namespace, self.dest, values)
        setattr(namespace, self.marker, values)


def before_or_after(
    args: argparse.Namespace, command: str, option: str, dest: str, own: str | None = None
) -> str | None:
    """The value of :class:`Once` option ``option`` given before ``command`` (top level,
    ``dest``) or after it (its own, stored in ``own``, by default ``dest``), if any.

    Raises:
        UsageError: both were given (the same value too).
    """
    top = getattr(args, f"{dest}_given", None)
    after = getattr(args, f"{own or dest}_after", None)
    if top is not None and after is not None:
        raise UsageError(
            f"{command}: {option} given twice ({typed(_said(top))!r} before {command}, "
            f"{typed(_said(after))!r} after)"
        )
    return None if top is None and after is None else str(after if after is not None else top)


def _said(value: object) -> str:
    """``value`` as the user typed it, near enough: seconds ``1``, not ``1.0``."""
    return f"{value:g}" if isinstance(value, float) else str(value)
