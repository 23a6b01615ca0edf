"""Whether a command-line option was given, whatever its value.

Why: a top-level option a command would ignore is refused (core.commands.arg_types), and
"given" was told by comparing the value with the default, so ``--ghost-ttl 5 metrics`` (5 is
the default) ran while ``--ghost-ttl 30 metrics`` was refused. Every top-level option's action
marks ``{dest}_given`` when it appears on the command line instead: one rule for all.
"""

from __future__ import annotations

import argparse


def mark(namespace: argparse.Namespace, dest: str, value: object = True) -> None:
    """Note that the option stored in ``dest`` was given (``value``: what to note)."""
    setattr(namespace, f"{dest}_given", value)


def given(args: argparse.Namespace, dest: str) -> bool:
    """Whether the option stored in ``dest`` appeared on the command line."""
    return bool(getattr(args, f"{dest}_given", None))


class Given(argparse.Action):
    """argparse's ``store``, noting that the option was given."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        """Store ``values`` and mark the option given."""
        setattr(namespace, self.dest, values)
        mark(namespace, self.dest)


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
