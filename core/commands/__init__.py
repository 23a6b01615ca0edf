"""Headless command front-ends (connections, ipsec, record) and the one place a feed is chosen.

Why a package above the others: choosing a feed needs the live sampler, a recording and the
demo, and the demo and replay are built on the sampler, so the choice sits above all three.

Facade (lazy, :func:`core.lazy_exports`): the shared argument types, the feed choice and the
output guards of ``tui/cli.py`` and the app; the subcommand modules are loaded by name, one a
run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core import lazy_exports

__all__ = [
    "MAX_GHOST_TTL_S",
    "MAX_SEED",
    "PROVIDER_METAVAR",
    "VICI_HELP",
    "AllWords",
    "actions_off",
    "display_host",
    "finish_output",
    "is_remote",
    "make_feed",
    "options_from_args",
    "own_namespace_words",
    "provider_name",
    "real",
    "refuse_ignored_globals",
    "report_os_error",
    "seconds_between",
    "stand_in_for_closed_streams",
    "tcpscope_words",
    "tolerate_locale",
    "whole_between",
]

if TYPE_CHECKING:
    from core.commands.arg_types import (
        MAX_GHOST_TTL_S,
        MAX_SEED,
        PROVIDER_METAVAR,
        VICI_HELP,
        AllWords,
        provider_name,
        real,
        refuse_ignored_globals,
        seconds_between,
        whole_between,
    )
    from core.commands.feeds import (
        actions_off,
        is_remote,
        make_feed,
        options_from_args,
        own_namespace_words,
        tcpscope_words,
    )
    from core.commands.host_label import display_host
    from core.commands.output_errors import (
        finish_output,
        report_os_error,
        stand_in_for_closed_streams,
        tolerate_locale,
    )
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "arg_types": (
                "MAX_GHOST_TTL_S",
                "MAX_SEED",
                "PROVIDER_METAVAR",
                "AllWords",
                "provider_name",
                "real",
                "refuse_ignored_globals",
                "seconds_between",
                "VICI_HELP",
                "whole_between",
            ),
            "feeds": (
                "actions_off",
                "is_remote",
                "make_feed",
                "options_from_args",
                "own_namespace_words",
                "tcpscope_words",
            ),
            "host_label": ("display_host",),
            "output_errors": (
                "finish_output",
                "report_os_error",
                "stand_in_for_closed_streams",
                "tolerate_locale",
            ),
        },
    )
