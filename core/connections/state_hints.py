"""What a State means for the person looking at it: who is waiting for what, and when to worry.

Why: the seed's meanings are RFC 793's ("Waiting for a connection termination request from
the local user"), exact but not an answer to "is this a problem, and whose". These lines say
which side acted, what is awaited, and what it means when the state lasts or piles up, on
Linux (the kernel's timers and sysctls named where they decide). Written once, as data;
``{holder}`` is the owning process's name and PID when known.
"""

from __future__ import annotations

from typing import Final

from core.connections.model import OwnerStatus, TcpState

HINTS: Final[dict[TcpState, str]] = {
    TcpState.SYN_SENT: (
        "Connecting: the peer has not answered the SYN yet. If it lasts, the peer is down, "
        "filtered or unreachable (the kernel retries: net.ipv4.tcp_syn_retries)."
    ),
    TcpState.SYN_RECEIVED: (
        "Half open: the peer's SYN was answered, its final ACK has not come. Many at once: "
        "a SYN flood, or answers that do not reach the peer."
    ),
    TcpState.FIN_WAIT1: (
        "This side closed; its FIN is not acknowledged yet. If it lasts, the peer is gone or "
        "unreachable, or data is still queued to send."
    ),
    TcpState.FIN_WAIT2: (
        "This side shut down its sending and the peer acknowledged; waiting for the peer to "
        "close its end."
    ),
    TcpState.CLOSE_WAIT: (
        "The peer closed its end; {holder} has not closed this socket yet. Lasting or "
        "piling up: the program does not close its sockets (a leak)."
    ),
    TcpState.CLOSING: (
        "Both sides closed at once; waiting for the peer to acknowledge this side's FIN."
    ),
    TcpState.LAST_ACK: (
        "The peer closed, then this side; waiting for the peer to acknowledge this side's "
        "FIN. If it lasts, the peer is gone."
    ),
    TcpState.TIME_WAIT: (
        "Closed, this side first. The kernel keeps it about 60 s so that late segments are "
        "not taken for a new connection between the same ports; no process holds it. Many: "
        "this side closes connections at a high rate."
    ),
    TcpState.CLOSED: (
        "The connection has ended (reset, aborted or timed out) but {holder} still holds "
        "the socket; its next read or write gets the error. Lasting or piling up: the "
        "program does not close its sockets after an error."
    ),
    TcpState.BOUND: (
        "bind() without listen() or connect(): it holds the port from other programs, and "
        "has no connection to measure."
    ),
}
"""States that need no words beyond their name (Established, Listen) have none."""

ORPHAN_FIN_WAIT2: Final = (
    "This side closed; waiting for the peer to close its end. No process holds it any more: "
    "the kernel drops it after net.ipv4.tcp_fin_timeout."
)
UNKNOWN_HOLDER: Final = "the process holding it"


def state_hint(state: TcpState, owner: OwnerStatus, holder: str | None) -> str | None:
    """The hint for a live connection in ``state``; ``holder`` names its owning process
    (None: not known). None for a state that needs no hint."""
    if state is TcpState.FIN_WAIT2 and owner is OwnerStatus.NO_OWNER:
        return ORPHAN_FIN_WAIT2
    hint = HINTS.get(state)
    return None if hint is None else hint.replace("{holder}", holder or UNKNOWN_HOLDER)
