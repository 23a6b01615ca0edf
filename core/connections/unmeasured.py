"""Which tcp_info figures of a socket are not measurements, and why: one rule for every view.

Why: a listener exchanges no data, so the kernel's ``tcp_get_info`` gives it the initial
values of a socket that sent nothing (rtt 0, cwnd 10, mss 0, byte and retransmit counts 0),
and in ``tcpi_unacked``/``tcpi_sacked`` its accept queue and backlog. Shown as figures, a
script reads rtt 0 as a measured 0 ms. The detail pane and ``connections --json`` both say
"not measured" with the reason, from here; only the queues (Recv-Q, Send-Q) are measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from core.connections.model import TcpState

LISTENER_NOT_MEASURED: Final = (
    "not measured: a listener exchanges no data (the kernel's figures for it are initial "
    "values); each accepted connection is measured on its own row"
)
LISTENER_UNACKED: Final = (
    "not measured: a listener's tcpi_unacked holds its accept queue, not segments (given as "
    "recv_q, its backlog as send_q)"
)
_LISTENER: Final[Mapping[str, str]] = MappingProxyType(
    {
        **dict.fromkeys(
            ("rtt_us", "rttvar_us", "snd_cwnd", "snd_mss", "retransmits", "total_retrans",
             "bytes_acked", "bytes_received"),
            LISTENER_NOT_MEASURED,
        ),
        "unacked": LISTENER_UNACKED,
        "lost": LISTENER_NOT_MEASURED,
        "retrans": LISTENER_NOT_MEASURED,
    }
)  # fmt: skip
_NONE: Final[Mapping[str, str]] = MappingProxyType({})


def not_measured(state: TcpState | None) -> Mapping[str, str]:
    """The :class:`core.connections.model.TcpInfo` fields of a socket in ``state`` whose
    kernel value is not a measurement, each with why (empty: every field is measured)."""
    return _LISTENER if state is TcpState.LISTEN else _NONE
