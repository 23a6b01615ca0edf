"""What a State means for the person looking at it: who is waiting for what, and when to worry.

Why: the seed's meanings are RFC 793's ("Waiting for a connection termination request from
the local user"), exact but not an answer to "is this a problem, and whose". These lines say
which side acted, what is awaited, and what it means when the state lasts or piles up, on
Linux (the kernel's timers and sysctls named where they decide). Written once, as data;
``{holder}`` is the owning process's name and PID when known, ``{gives_up}`` the sysctl that
bounds a FIN's retransmissions (which one depends on whether a process still holds it).
"""

from __future__ import annotations

from typing import Final

from core.connections.model import OwnerStatus, TcpState

FIN_UNACKED: Final[dict[TcpState, str]] = {
    TcpState.FIN_WAIT1: "This side closed; its FIN is not acknowledged yet.",
    TcpState.CLOSING: (
        "Both sides closed at once; waiting for the peer to acknowledge this side's FIN."
    ),
    TcpState.LAST_ACK: (
        "The peer closed, then this side; waiting for the peer to acknowledge this side's FIN."
    ),
}
"""What each state with this side's FIN unacknowledged means, before why it may last."""

HINTS: Final[dict[TcpState, str]] = {
    TcpState.SYN_SENT: (
        "Connecting: the peer has not answered the SYN yet. If it lasts, the peer is down, "
        "filtered or unreachable, or its listener's accept queue is full (the backlog: the "
        "kernel drops SYNs then); the kernel retries: net.ipv4.tcp_syn_retries."
    ),
    TcpState.SYN_RECEIVED: (
        "Half open: the peer's SYN was answered, its final ACK has not come. Many at once: "
        "a SYN flood, or answers that do not reach the peer."
    ),
    TcpState.FIN_WAIT1: (
        f"{FIN_UNACKED[TcpState.FIN_WAIT1]} If it lasts, the peer is gone or unreachable: "
        "{gives_up}; or it stopped reading, and data is still queued to send."
    ),
    TcpState.FIN_WAIT2: (
        "This side shut down its sending and the peer acknowledged; waiting for the peer to "
        "close its end. If it lasts, the peer's program never closes its socket (the peer "
        "sits in CloseWait); no timer ends it while a process holds it "
        "(net.ipv4.tcp_fin_timeout applies only once no process does)."
    ),
    TcpState.CLOSE_WAIT: (
        "The peer closed its end; {holder} has not closed this socket yet. Lasting or "
        "piling up: the program does not close its sockets (a leak)."
    ),
    TcpState.CLOSING: (
        f"{FIN_UNACKED[TcpState.CLOSING]} If it lasts, the peer is gone; {{gives_up}}."
    ),
    TcpState.LAST_ACK: (
        f"{FIN_UNACKED[TcpState.LAST_ACK]} If it lasts, the peer is gone; {{gives_up}}."
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

GIVES_UP: Final[dict[OwnerStatus | None, str]] = {
    OwnerStatus.FOUND: "the kernel gives up after net.ipv4.tcp_retries2 retransmissions",
    OwnerStatus.NO_OWNER: (
        "no process holds it any more: the kernel gives up after "
        "net.ipv4.tcp_orphan_retries retransmissions"
    ),
    None: (
        "the kernel gives up after net.ipv4.tcp_retries2 retransmissions "
        "(net.ipv4.tcp_orphan_retries once no process holds it)"
    ),
}
"""Which sysctl bounds the FIN's retransmissions (``tcp_write_timeout``: a socket no process
holds, SOCK_DEAD, retries ``tcp_orphan_retries`` times, a held one ``tcp_retries2``); None:
the holder is not known (``explain``, an owner tcpscope could not read)."""

WINDOW_SHUT: Final = "The peer's receive window is zero (it is not reading): "
"""How a stall on the peer's zero window begins (:mod:`core.connections.zero_window`)."""
WAITS_FOR_WINDOW: Final[dict[OwnerStatus | None, str]] = {
    OwnerStatus.NO_OWNER: (
        "no process holds it any more, so the kernel gives up after a bounded number of "
        "window probes, answered or not (net.ipv4.tcp_orphan_retries)"
    ),
    None: (
        "the kernel probes it, and a held socket waits indefinitely while the peer answers "
        "(net.ipv4.tcp_retries2 counts only unanswered probes); only TCP_USER_TIMEOUT or "
        "closing it (then net.ipv4.tcp_orphan_retries) ends that"
    ),
}
"""How long a zero-window stall lasts (``tcp_probe_timer``): a held socket's probe count is
reset by every answer (``tcp_ack``), so ``tcp_retries2`` bounds only unanswered probes; an
orphan's (``SOCK_DEAD``) ends once its probes have backed off to TCP_RTO_MAX (2 min) apart
and their backoff, which answers leave, reaches ``tcp_orphan_retries``. With data in flight
``tcp_retransmit_timer`` probes instead, ending a held socket only after 2 x TCP_RTO_MAX
without an answer (``tcp_rtx_probe0_timed_out``). TCP_USER_TIMEOUT bounds every case.
None: held, or not known whether."""

ORPHAN_FIN_WAIT2: Final = (
    "This side closed; waiting for the peer to close its end. No process holds it any more: "
    "the kernel drops it after net.ipv4.tcp_fin_timeout."
)
UNACCEPTED_CLOSE_WAIT: Final = (
    "The peer closed before any process accept()ed this connection: it waits in its "
    "listener's queue. Lasting or piling up: the server is not accepting (stalled or "
    "overloaded), not a leak."
)
NEVER_ON_LINUX: Final = (
    "Linux never reports this State: the kernel frees a connection's TCB without a visible "
    "state, so tcpscope never shows it."
)
"""DeleteTCB (12), for ``explain`` (no live connection is ever in it): says so rather than
nothing."""
UNKNOWN_HOLDER: Final = "the process holding it"
_UNACCEPTED: Final = frozenset({TcpState.ESTABLISHED, TcpState.CLOSE_WAIT})
_AFTER_CLOSE: Final = frozenset(
    {TcpState.FIN_WAIT1, TcpState.FIN_WAIT2, TcpState.CLOSING, TcpState.LAST_ACK}
)


def unaccepted(state: TcpState, owner: OwnerStatus) -> bool:
    """A connection still in its listener's accept queue: no process has it yet.

    Why certain: the kernel holds a socket without a file only while it waits for accept(),
    after close() (an orphan: FinWait1 onwards, never Established or CloseWait), or as a
    TimeWait/request minisocket."""
    return owner is OwnerStatus.NO_OWNER and state in _UNACCEPTED


def orphaned(state: TcpState, owner: OwnerStatus) -> bool:
    """Closed by its process and kept by the kernel until the peer answers (no file)."""
    return owner is OwnerStatus.NO_OWNER and state in _AFTER_CLOSE


def window_wait(state: TcpState, owner: OwnerStatus | None) -> str:
    """Why a stall on the peer's zero window lasts, and what ends it: an orphan's ends, a
    held (or not known) socket's does not while the peer answers."""
    orphan = owner is not None and orphaned(state, owner)
    return WINDOW_SHUT + WAITS_FOR_WINDOW[OwnerStatus.NO_OWNER if orphan else None] + "."


def state_hint(
    state: TcpState, owner: OwnerStatus | None, holder: str | None, *, window_shut: bool = False
) -> str | None:
    """The hint for a live connection in ``state``; ``holder`` names its owning process
    (None: not known); ``owner`` None: no particular connection (``explain``). None for a
    state that needs no hint. ``window_shut``: its queue waits on the peer's zero window
    (:func:`core.connections.zero_window.window_shut`), which is then why its FIN lasts:
    not a peer gone, and no ``tcp_retries2`` give-up."""
    if window_shut and state in FIN_UNACKED:
        return f"{FIN_UNACKED[state]} {window_wait(state, owner)}"
    if owner is not None and orphaned(state, owner) and state is TcpState.FIN_WAIT2:
        return ORPHAN_FIN_WAIT2
    if owner is not None and unaccepted(state, owner) and state is TcpState.CLOSE_WAIT:
        return UNACCEPTED_CLOSE_WAIT
    hint = HINTS.get(state)
    if hint is None:
        return None
    gives_up = GIVES_UP.get(owner, GIVES_UP[None])
    # {gives_up} first: a process name is untrusted and may itself read "{gives_up}"
    return hint.replace("{gives_up}", gives_up).replace("{holder}", holder or UNKNOWN_HOLDER)
