"""Acting on a connection: close it (SOCK_DESTROY, as ``ss -K`` does); ending its process is
:mod:`core.connections.process_end`, which shares the refusals and words defined here.

Why here: the TUI's keys and ``tcpscope close`` must refuse, warn and explain in the same
words, and neither may touch a socket or a signal itself. Closing goes through the netlink
code the source already has (:meth:`InetDiagDumper.destroy`): an exact request naming the
socket's id *and cookie*, so only that socket is closed, never a newer one on the same ports.
Ending a process pins it with a pidfd and checks its start time first, so a PID reused since
the sample is refused rather than signalled.

Linux only; nothing here runs until an action is asked for. Never imports textual or rich.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from core.connections.model import OwnerStatus, ProcessInfo, TcpConnection, TcpState
from core.connections.records import address_text, endpoint_text, linux_state
from core.connections.sources import fd_scan
from core.connections.sources.inet_diag import (
    DiagSocket,
    InetDiagDumper,
    decode,
    offsets,
    sockid_at,
    sockid_of,
)
from core.connections.sources.procinfo import fetch_process
from core.connections.state_hints import unaccepted
from core.errors import MonitorError
from core.textsafe import printable

"""An ``inet_diag_sockid``: ports, addresses, interface, cookie."""


class Refusal(StrEnum):
    """Why an action did not happen, one kind per thing the user can do about it."""

    NOT_PERMITTED = "not permitted"
    UNSUPPORTED = "not supported by this kernel"
    GONE = "gone"
    REPLACED = "PID reused"
    FAILED = "failed"


CLOSE_REASONS: Final[Mapping[Refusal, str]] = {
    Refusal.NOT_PERMITTED: "not permitted: closing a socket needs CAP_NET_ADMIN (run as root)",
    Refusal.UNSUPPORTED: "this kernel cannot close sockets: it was built without "
    "CONFIG_INET_DIAG_DESTROY",
    Refusal.GONE: "no such TCP socket any more: it closed (or changed) since the last sample",
}
"""What each refusal of SOCK_DESTROY means, in the words the UI and the CLI print."""
TIME_WAIT_REFUSED: Final = (
    "this kernel cannot close a TIME_WAIT socket (older kernels destroy only full sockets); "
    "it ends by itself within 60 s"
)
BOUND_REFUSED: Final = (
    "a socket only bound to a port cannot be closed from outside (the kernel's SOCK_DESTROY "
    "finds connected and listening sockets only): end its process instead"
)
CLOSED_REFUSED: Final = (
    "its connection has ended already; the process still holds the socket, which SOCK_DESTROY "
    "cannot find (it looks in the connection and listener tables only): the process frees it "
    "when it closes it, or end the process"
)
UNCLOSABLE: Final[Mapping[TcpState, str]] = {
    TcpState.BOUND: BOUND_REFUSED,
    TcpState.CLOSED: CLOSED_REFUSED,
}
"""States whose sockets the kernel cannot be asked to close, with why: refused by State
before asking, since the kernel's "no such socket" would read as "it closed meanwhile"."""


_CAP_NET_ADMIN: Final = 12
ROOT_WITHOUT_NET_ADMIN: Final = (
    "not permitted: closing a socket needs CAP_NET_ADMIN, which this root process lacks "
    "(dropped from its capabilities)"
)


def close_refused_here(status: str = "/proc/self/status", euid: int | None = None) -> str | None:
    """Why this process can close no socket at all, known before asking; None when it can.

    Why: the kernel checks CAP_NET_ADMIN for every SOCK_DESTROY, the caller's own sockets
    included, so without it in the *effective* set (not "is root": a container's root may
    lack it, a service user may hold it as an ambient capability) every close is refused.
    Where the set cannot be read (not Linux) nothing is claimed: the kernel's answer says.
    """
    try:
        with open(status, encoding="ascii") as f:
            eff = next(int(line.split()[1], 16) for line in f if line.startswith("CapEff:"))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    if eff >> _CAP_NET_ADMIN & 1:
        return None
    if (os.geteuid() if euid is None else euid) == 0:
        return ROOT_WITHOUT_NET_ADMIN
    return CLOSE_REASONS[Refusal.NOT_PERMITTED]


def unclosable(state: TcpState) -> str | None:
    """Why a socket in ``state`` cannot be closed from outside; None when it can be."""
    return UNCLOSABLE.get(state)


_RESET = "The kernel aborts it (the peer gets a reset, the process ECONNABORTED), as ss -K does."
CLOSE_EFFECTS: Final[Mapping[TcpState, str]] = {
    TcpState.ESTABLISHED: _RESET,
    TcpState.CLOSE_WAIT: _RESET,
    TcpState.FIN_WAIT1: _RESET,
    TcpState.FIN_WAIT2: _RESET,
    TcpState.TIME_WAIT: (
        "The kernel drops it at once (its TIME_WAIT ends; nothing is sent), as ss -K does."
    ),
    TcpState.LISTEN: (
        "The kernel closes the listener, as ss -K does; connections still waiting in its "
        "accept queue are reset."
    ),
    TcpState.SYN_RECEIVED: (
        "The kernel drops the half-open connection, as ss -K does (a request not yet "
        "accepted goes without a packet; a Fast Open one resets the peer)."
    ),
    TcpState.SYN_SENT: (
        "The kernel aborts the connection attempt (nothing is sent; the process gets "
        "ECONNABORTED), as ss -K does."
    ),
}
"""What SOCK_DESTROY does to a socket in each state (net/ipv4/tcp.c, tcp_abort): a reset
goes to the peer only where tcp_need_reset says so, and a TIME_WAIT or a half-open request is
dropped without a packet. The other states (LastAck, Closing) end without a reset."""


ORPHAN_FIN_WAIT2_EFFECT: Final = (
    "No process holds it: the kernel drops it, as ss -K does; held as a minisocket (the usual "
    "case, see net.ipv4.tcp_fin_timeout) nothing is sent, the peer is not reset."
)
"""An orphaned FinWait2 is a timewait minisocket unless tcp_fin_timeout is over 60 s, and a
minisocket is dropped without a packet (tcp_abort): "the peer gets a reset" was false."""


NO_PROCESS_RESET_EFFECT: Final = (
    "No process holds it: the kernel aborts it and the peer gets a reset, as ss -K does."
)
"""A reset state with no file (an orphaned FinWait1, a connection still in its listener's
accept queue): "the process ECONNABORTED" named a process there is none of."""


def close_effect(state: TcpState, owner: OwnerStatus | None = None) -> str:
    """The confirmation's sentence for ``state`` (:data:`CLOSE_EFFECTS`), not "the peer gets
    a reset" for all; ``owner``: the socket's owner status (an orphan closes differently, and
    without a file no process gets ECONNABORTED)."""
    if owner is OwnerStatus.NO_OWNER:
        if state is TcpState.FIN_WAIT2:
            return ORPHAN_FIN_WAIT2_EFFECT
        if CLOSE_EFFECTS.get(state) == _RESET:
            return NO_PROCESS_RESET_EFFECT
    return CLOSE_EFFECTS.get(
        state, "The kernel aborts it (no reset is sent in this state), as ss -K does."
    )


_CLOSE_ERRNOS: Final[Mapping[int, Refusal]] = {
    errno.EPERM: Refusal.NOT_PERMITTED,
    errno.EACCES: Refusal.NOT_PERMITTED,
    errno.EOPNOTSUPP: Refusal.UNSUPPORTED,
    errno.ENOENT: Refusal.GONE,
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one action did: done, or refused with a one-line reason (safe to print)."""

    done: bool
    message: str
    refusal: Refusal | None = None


def endpoints(conn: TcpConnection) -> str:
    """``local → remote`` as the table shows them (IPv6 in brackets)."""
    local = endpoint_text(conn.local_address, conn.local_port)
    return f"{local} → {endpoint_text(conn.remote_address, conn.remote_port)}"


_NO_PID: Final[dict[OwnerStatus | None, str]] = {
    OwnerStatus.NO_OWNER: "no owning process (the kernel holds it without a file)",
    OwnerStatus.NEEDS_PRIVILEGE: "not known: needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH",
    OwnerStatus.NOT_FOUND: "not found in any fd table tcpscope could read",
    OwnerStatus.NOT_SUPPORTED: "not known: this source cannot attribute sockets",
    OwnerStatus.RESOLVING: "not looked up yet",
}
"""What a missing PID means, by how the owner was looked up: "no owning process" is true
only when the kernel holds the socket without a file; the other cases only did not find it."""


_NO_PROCESS_TO_END: Final[dict[OwnerStatus | None, str]] = {
    OwnerStatus.NO_OWNER: "no owning process to terminate: the kernel holds this socket "
    "without a file",
    OwnerStatus.NEEDS_PRIVILEGE: "its owner is not known: other users' processes are "
    "unreadable; needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH",
    OwnerStatus.NOT_FOUND: "its owner is not known: no fd table tcpscope could read holds "
    "this socket",
    OwnerStatus.NOT_SUPPORTED: "its owner is not known: this source cannot attribute sockets "
    "to processes",
    OwnerStatus.RESOLVING: "its owner is not looked up yet: try again in a moment",
}


def no_process_to_end(status: OwnerStatus | None, hidepid: str | None = None) -> str:
    """Why a connection without a PID has no process to end, by ``status`` (its owner_status):
    "no owning process" only where the kernel alone holds it, never for an owner unread.
    ``hidepid`` (:attr:`~core.connections.snapshot.Privilege.hidepid_short`): a hidepid /proc
    hides the owner, which is then why (no fd table was unreadable)."""
    if hidepid and status is OwnerStatus.NEEDS_PRIVILEGE:
        return f"its owner is not known: {hidepid}"
    return _NO_PROCESS_TO_END.get(status, "no owning process known to terminate")


def process_label(
    pid: int | None,
    proc: ProcessInfo | None,
    status: OwnerStatus | None = None,
    hidepid: str | None = None,
) -> str:
    """``PID 1234 (nginx, user www)``; untrusted names made printable. Without a PID, what
    ``status`` (the connection's owner_status) says about it (``hidepid``: as in
    :func:`no_process_to_end`)."""
    if pid is None:
        if hidepid and status is OwnerStatus.NEEDS_PRIVILEGE:
            return f"not known: {hidepid}"
        return _NO_PID.get(status, "no owning process known")
    details = []
    if proc is not None and proc.name:
        details.append(printable(proc.name))
    if proc is not None and proc.username:
        details.append(f"user {printable(proc.username)}")
    return f"PID {pid} ({', '.join(details)})" if details else f"PID {pid}"


# --- who holds a socket ----------------------------------------------------------------


def socket_holders(inodes: Collection[int], proc: str = "/proc") -> dict[int, set[int]]:
    """The PIDs holding each socket inode (a forked or passed socket has several).

    Why: the source names one owner per socket, but closing a shared socket affects every
    holder, and ending one holder does not close it. One walk over ``/proc/*/fd``; entries
    we may not read (other users' processes without privilege) are skipped.
    """
    return _holders_walk(inodes, proc)[0]


def _holders_walk(inodes: Collection[int], proc: str) -> tuple[dict[int, set[int]], bool]:
    """:func:`socket_holders`, and whether every fd table was read (none refused us: a
    socket no holder was found for is then held by no process tcpscope can see).

    Why :func:`fd_scan.scan`: the sampler reads the tables with it, and this must judge a
    table as it does. A link no capability lets us read (a hypervisor's init, see
    :func:`fd_scan.ptrace_capable`) is no refusal there: the row said "not found" and the
    close dialog "needs CAP_SYS_PTRACE" of the same socket, to a root that has it."""
    wanted = {ino for ino in inodes if ino}
    found: dict[int, set[int]] = {ino: set() for ino in wanted}
    if not wanted:
        return found, True
    try:
        pids = [int(name) for name in os.listdir(proc) if name.isdigit()]
    except OSError:
        return found, False
    every = True
    for table in fd_scan.tables(fd_scan.scan(proc, pids, [0])):
        if table.fds is None:
            every = False
            continue
        for ino in wanted.intersection(table.inodes):
            found[ino].add(table.pid)
    return found, every


# --- closing connections ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CloseTarget:
    """One connection to close, as it is when its confirmation is asked: who holds its
    socket, its State and owner now (the row's are the last sample's, which may be minutes
    old when paused: its process gone, its State another)."""

    conn: TcpConnection
    """The connection as sampled (what is closed: its socket id and cookie)."""
    holders: frozenset[int] = frozenset()
    """Every PID holding the socket (empty when unknown or it has no file)."""
    looked: bool = False
    """The kernel was asked for the socket when this target was made (False: not asked, as
    over ``--remote``, or it could not be; :attr:`state` and :attr:`owner` say nothing)."""
    state: TcpState | None = None
    """Its State then (:attr:`looked`); None: the kernel has no such socket any more."""
    owner: OwnerStatus | None = None
    """Its owner then (:attr:`looked`): FOUND (:attr:`holders`), NO_OWNER (the kernel holds it
    without a file), NOT_FOUND (no fd table tcpscope could read holds it, none refused it:
    the row's rule, see :func:`_holders_walk`), NEEDS_PRIVILEGE (some could not be read for
    lack of a privilege); None: not known (no socket inode to look for)."""
    holder: int | None = None
    """The holder to name (:attr:`looked`): the sampled owner while it still holds the socket,
    else the lowest PID of :attr:`holders`; None: no holder found."""
    process: ProcessInfo | None = None
    """:attr:`holder`'s details (name, user), read when this target was made: a socket moved
    to another process (a fork kept it, its parent exited) has a holder the sample never
    read, which the dialog named as a bare PID."""

    @property
    def shared(self) -> bool:
        """Several processes hold the socket: closing it affects all of them."""
        return len(self.holders) > 1

    @property
    def gone(self) -> bool:
        """The kernel has no such socket any more and no process holds it: nothing to close."""
        return self.looked and self.state is None


_ANY_ADDRESS: Final = frozenset({"0.0.0.0", "::"})


def waiting_to_accept(
    listener: TcpConnection, conns: Iterable[TcpConnection], recv_q: int | None = None
) -> int:
    """How many connections wait in ``listener``'s accept queue, which closing it resets
    (:data:`CLOSE_EFFECTS`): the kernel's count when it was read (``recv_q``, a listener's
    Recv-Q), else its unaccepted rows among ``conns`` (no process has them yet) on its port
    and address, in its namespace and family. 0 for a socket that is not listening.

    Why: the close dialog counted "1 connection" while saying those waiting are reset too."""
    if listener.state is not TcpState.LISTEN:
        return 0
    if recv_q is not None:
        return recv_q
    any_address = listener.local_address in _ANY_ADDRESS
    return sum(
        1
        for c in conns
        if c.local_port == listener.local_port
        and unaccepted(c.state, c.owner_status)
        and c.netns == listener.netns
        and c.family == listener.family
        and (any_address or c.local_address == listener.local_address)
    )


def affected(waiting: int) -> str:
    """What closing one socket affects: ``1 connection``, or for a listener with ``waiting``
    connections in its accept queue ``3 connections: the listener and 2 waiting in its
    accept queue`` (the close dialog's and ``tcpscope close``'s words)."""
    if not waiting:
        return "1 connection"
    return f"{waiting + 1} connections: the listener and {waiting} waiting in its accept queue"


def close_targets(
    conns: Iterable[TcpConnection], proc: str = "/proc", dumper_in: DumperIn | None = None
) -> list[CloseTarget]:
    """The connections to close, each with the PIDs holding its socket and, from an exact
    netlink query of its id and cookie, its State and owner now (``dumper_in``: see
    :class:`Closer`; a connection in another namespace without it is not looked at).

    Why fresh: the confirmation said "Established", named a process and "the peer gets a
    reset" from a sample taken before its process died (the socket an orphan in FinWait2,
    which closing drops without a packet)."""
    conns = list(conns)
    closer = Closer(dumper_in)
    try:
        found = [closer.look(c) for c in conns]
    finally:
        closer.aclose()
    holders, every = _holders_walk([c.inode for c in conns if c.inode], proc)
    return [
        _target(c, frozenset(holders.get(c.inode or 0, ())), every, *now)
        for c, now in zip(conns, found, strict=True)
    ]


def refused_now(target: CloseTarget) -> str | None:
    """Why ``target`` cannot be closed as it is now (gone, or its connection ended since the
    sample while a process still holds it); None when it can be. No dialog is offered for
    these: the kernel would answer "no such socket"."""
    if target.gone:
        return CLOSE_REASONS[Refusal.GONE]
    return unclosable(target.state) if target.state is not None else None


def _target(
    conn: TcpConnection, holders: frozenset[int], every: bool, looked: bool, now: DiagSocket | None
) -> CloseTarget:
    """``conn``'s target from what the look-ups found (``every``: every fd table was read)."""
    if not looked:
        return CloseTarget(conn, holders)
    if now is None:  # not in the kernel's tables: gone, unless a process still holds it
        state = TcpState.CLOSED if holders else None
    else:
        state = linux_state(now.state, now.dport) or conn.state
    owner: OwnerStatus | None
    holder = process = None
    if holders:
        owner = OwnerStatus.FOUND
        holder = conn.owning_process if conn.owning_process in holders else min(holders)
        process = fetch_process(holder)
    elif now is not None and not now.inode:
        owner = OwnerStatus.NO_OWNER
    elif conn.inode is None:
        owner = None
    elif every and os.geteuid() in (0, now.uid if now is not None else conn.uid):
        owner = OwnerStatus.NOT_FOUND
    else:  # unreadable tables, or another user's socket a hidepid /proc may hide the holder of
        owner = OwnerStatus.NEEDS_PRIVILEGE
    return CloseTarget(conn, holders, True, state, owner, holder, process)


DumperIn = Callable[[int], InetDiagDumper]
"""Opens a sock_diag dumper inside the network namespace of that inode."""


class Closer:
    """Closes TCP sockets with SOCK_DESTROY over one NETLINK_SOCK_DIAG socket.

    Records from the netlink source carry their socket id; others (psutil) are found by
    their endpoints in a fresh dump.
    """

    def __init__(self, dumper_in: DumperIn | None = None) -> None:
        """Open nothing yet: the netlink socket is opened by the first close.

        ``dumper_in`` opens a sock_diag socket inside another network namespace (by inode,
        see core.netns.select.sock_diag_in); without it a connection outside tcpscope's
        own namespace is refused, never closed through the wrong namespace.
        """
        self._dumper_in = dumper_in
        self._dumpers: dict[int | None, InetDiagDumper] = {}

    def _dumper(self, netns: int | None) -> InetDiagDumper | None:
        dumper = self._dumpers.get(netns)
        if dumper is None:
            if netns is None:
                dumper = InetDiagDumper(tcp_info=False)
            elif self._dumper_in is None:
                return None
            else:
                dumper = self._dumper_in(netns)
            self._dumpers[netns] = dumper
        return dumper

    def look(self, conn: TcpConnection) -> tuple[bool, DiagSocket | None]:
        """``conn``'s socket as the kernel has it now: (asked, found); found is None when the
        kernel has no such socket (by id and cookie). Not asked: in another namespace without
        ``dumper_in``, or the kernel could not be asked (the error is left to the close)."""
        try:
            dumper = self._dumper(conn.netns)
            if dumper is None:
                return False, None
            family = socket.AF_INET if conn.family == 4 else socket.AF_INET6
            sockid = sockid_of(conn.source_key)
            if sockid is None:
                sockid = _find_sockid(dumper, family, conn)
            return True, None if sockid is None else dumper.one(family, sockid)
        except MonitorError:
            return False, None

    def close(self, conn: TcpConnection) -> Outcome:
        """Close ``conn``'s socket now; the outcome says why when the kernel refused."""
        refused = unclosable(conn.state)
        if refused is not None:
            return Outcome(False, refused, Refusal.FAILED)
        try:
            dumper = self._dumper(conn.netns)
            if dumper is None:
                return Outcome(False, "in another network namespace (use --netns)", Refusal.FAILED)
            family = socket.AF_INET if conn.family == 4 else socket.AF_INET6
            sockid = sockid_of(conn.source_key)
            if sockid is None:
                sockid = _find_sockid(dumper, family, conn)
            code = errno.ENOENT if sockid is None else dumper.destroy(family, sockid)
        except MonitorError as exc:
            return Outcome(False, f"could not ask the kernel: {exc}", Refusal.FAILED)
        if code == 0:
            return Outcome(True, f"closed {endpoints(conn)}")
        if code == errno.EOPNOTSUPP and conn.state is TcpState.TIME_WAIT:
            # Kernels before TIME_WAIT support in tcp_abort refuse only these: the others may
            # still close, so this is not the kernel-wide refusal that stops the rest.
            return Outcome(False, TIME_WAIT_REFUSED, Refusal.FAILED)
        refusal = _CLOSE_ERRNOS.get(code, Refusal.FAILED)
        reason = CLOSE_REASONS.get(refusal) or f"the kernel refused: {os.strerror(code)}"
        return Outcome(False, reason, refusal)

    def aclose(self) -> None:
        """Close the netlink sockets."""
        for dumper in self._dumpers.values():
            dumper.close()
        self._dumpers = {}


def close_connections(
    conns: Iterable[TcpConnection], dumper_in: DumperIn | None = None
) -> list[tuple[TcpConnection, Outcome]]:
    """Close each of ``conns``; stops at a refusal that would repeat for all (privilege,
    kernel), so the caller reports it once. Returns the outcomes of those tried.
    ``dumper_in``: see :class:`Closer`."""
    closer = Closer(dumper_in)
    out: list[tuple[TcpConnection, Outcome]] = []
    closed: set[tuple[object, ...]] = set()
    try:
        for conn in conns:
            outcome = closer.close(conn)
            if outcome.done:
                closed.add(_ends(conn))
            elif outcome.refusal is Refusal.GONE and _ends(conn, reverse=True) in closed:
                outcome = Outcome(True, f"closed {endpoints(conn)}: {PEER_RESET}")
            out.append((conn, outcome))
            if outcome.refusal in (Refusal.NOT_PERMITTED, Refusal.UNSUPPORTED):
                break
    finally:
        closer.aclose()
    return out


PEER_RESET: Final = "ended by the reset of its other end"
"""Why a socket gone by its turn counts as closed: its other end, closed just before in the
same request (both ends of a loopback connection matched), sent it a reset."""


def closed_by_peer(outcome: Outcome) -> bool:
    """Whether ``outcome`` is a socket its other end's reset ended (see ``PEER_RESET``)."""
    return outcome.done and outcome.message.endswith(PEER_RESET)


def _ends(conn: TcpConnection, reverse: bool = False) -> tuple[object, ...]:
    """``conn``'s namespace and endpoints (the other end's when ``reverse``): the key that
    pairs the two ends of one loopback connection."""
    local = (conn.local_address, conn.local_port)
    remote = (conn.remote_address, conn.remote_port)
    return (conn.netns, *(remote + local if reverse else local + remote))


def _find_sockid(dumper: InetDiagDumper, family: int, conn: TcpConnection) -> bytes | None:
    """The socket id of ``conn`` from a dump, matched by endpoints (and inode if known)."""
    for chunk, end in dumper.dump(family):
        for off in offsets(chunk, end):
            found = decode(chunk, off)
            if (
                found.sport == conn.local_port
                and found.dport == conn.remote_port
                and address_text(found.src) == conn.local_address
                and address_text(found.dst) == conn.remote_address
                and (not conn.inode or found.inode == conn.inode)
            ):
                return sockid_at(chunk, off)
    return None
