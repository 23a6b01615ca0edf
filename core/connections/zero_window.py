"""Whether a connection's queued data waits on the peer's zero receive window.

Why: a sender whose peer stopped reading was told what a sender whose peer is gone is told,
"the kernel gives up after net.ipv4.tcp_retries2 retransmissions", and a held FinWait1 sat
there for hours. With the peer's window at zero the kernel sends window probes instead (the
persist timer, ``tcp_probe_timer``; with data in flight ``tcp_retransmit_timer``), and each
answer resets their count (``tcp_ack`` zeroes ``icsk_probes_out``): RFC 1122 4.2.2.17 keeps
the sender open as long as the receiver answers. What ends it is TCP_USER_TIMEOUT, or no
process holding the socket (``SOCK_DEAD``: ``tcp_orphan_retries``, counted by the probes'
backoff, which answers that leave the window shut do not reset). ``tcpi_snd_wnd`` is the
window the peer advertised last; ss shows the probing as ``timer:(persist,…)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from core.connections.model import TcpInfo, TcpState
from core.connections.tcpinfo import snd_wnd

SENDING: Final = frozenset(
    {
        TcpState.ESTABLISHED,
        TcpState.FIN_WAIT1,
        TcpState.CLOSE_WAIT,
        TcpState.CLOSING,
        TcpState.LAST_ACK,
    }
)
"""States whose Send-Q can wait on the peer's window: synchronized (a SynSent's window is
0 until the peer's SYN-ACK brings one) and with this side's sending not yet done."""


def peer_window(infos: Mapping[str, TcpInfo], key: str) -> int | None:
    """The peer's receive window for ``key``'s socket, in bytes, read from the raw tcp_info
    the source kept; ``None`` when it kept none (recordings, ``--remote``, psutil, /proc) or
    the kernel's struct has no ``tcpi_snd_wnd`` (before Linux 5.4): then nothing is claimed."""
    raw_of = getattr(infos, "raw", None)
    raw = raw_of(key) if callable(raw_of) else None
    return snd_wnd(raw) if isinstance(raw, bytes) else None


def window_shut(state: TcpState, info: TcpInfo | None, window: int | None) -> bool:
    """Something is queued to send (data, or our FIN) and the peer's window is zero: the
    kernel can only probe until the peer reads."""
    return window == 0 and state in SENDING and info is not None and (info.send_q or 0) > 0
