"""The detail pane's first screen: the answers a person needs, before any property list.

Why a module: "what is this connection, who owns it, is it healthy" must fit the top of an
80x24 terminal. Each line answers one question — State and what it means, the endpoints, the
owning process, OffloadState and what it means, age and how sure it is, the key tcp_info
figures with current rates and any bytes stuck in a queue — built from one snapshot so it is
tested without a screen. Untrusted text (names, command lines, addresses) goes through
:func:`tui.format.safe` into ``Text``, never markup.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from rich.cells import cell_len, set_cell_size
from rich.table import Table
from rich.text import Text

from core.connections import (
    ENUMS,
    STATE_HINTS,
    ByteRate,
    OwnerStatus,
    ProcessInfo,
    TcpConnection,
    TcpInfo,
    TcpState,
    cell_rule,
    not_measured,
    orphaned,
    recv_q_holds_fin,
    send_q_control,
    service_name,
    state_hint,
    unaccepted,
    window_shut,
    window_wait,
)
from tui import format as fmt

OFFLOAD_MEANINGS: Final[dict[int, str]] = {
    0: "handled by the host's own TCP stack",
    1: "being handed to the network adapter (TCP Chimney offload)",
    2: "handled by the network adapter (TCP Chimney offload)",
    3: "being handed back from the adapter to the host",
}
"""What each OffloadState value means (the seed names them without explaining)."""

LABEL_WIDTH: Final = 8


def _endpoint(address: str, port: int) -> str:
    text = fmt.endpoint(address, port)
    name = service_name(port) if port else None
    return f"{text} ({name})" if name else text


def _clip(text: str, width: int) -> str:
    """One line of at most ``width`` cells, an ellipsis marking the cut."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 1) + "…"


def state_line(conn: TcpConnection, ghost: bool) -> Text:
    """``Established — <the seed's meaning>`` (and that it closed, for a ghost row)."""
    decoded = ENUMS["State"].decode(int(conn.state))
    text = Text()
    text.append(decoded.name, style="bold")
    if ghost:
        text.append(" (closed: its last state)", style="bold italic")
    if decoded.meaning:
        text.append(f" — {decoded.meaning}")
    return text


def process_text(
    conn: TcpConnection,
    proc: ProcessInfo | None,
    source: str,
    started_at: datetime,
    width: int,
    hidepid: str | None = None,
) -> Text:
    """``PID name user command line…`` on one line, or why the owner is unknown (``hidepid``:
    the run's Privilege.hidepid_short, said when that hides the owner)."""
    if proc is None:
        if conn.owning_process is not None:
            why = f"{conn.owning_process}: process details are gone (it exited)"
        else:
            rule = cell_rule(conn, "OwningProcess", source, started_at, hidepid=hidepid)
            why = rule.text.removeprefix("not reported: ")
        return Text(why, style="italic")
    text = Text()
    text.append(str(proc.pid), style="bold")
    text.append(" ")
    text.append(fmt.safe(proc.name, "?"), style="bold")
    user = fmt.safe(proc.username, "(user unknown)")
    text.append(f"  {user}")
    if proc.cmdline:
        room = width - cell_len(text.plain) - 2
        if room > 8:
            head, left = fmt.command_head(proc.cmdline, room)
            text.append("  ")
            text.append(_clip(f"{head}…" if left else head, room), style="dim")
    elif "cmdline" in proc.denied:
        text.append("  (command line: access denied)", style="dim italic")
    return text


def offload_text(conn: TcpConnection, source: str, started_at: datetime) -> Text:
    """``InHost — handled by the host's own TCP stack`` plus where the value comes from."""
    if conn.offload_state is None:
        rule = cell_rule(conn, "OffloadState", source, started_at)
        return Text(f"not reported: {rule.text.removeprefix('not reported: ')}", style="italic")
    name = ENUMS["OffloadState"].decode(conn.offload_state).name
    text = Text()
    text.append(name, style="bold")
    meaning = OFFLOAD_MEANINGS.get(conn.offload_state)
    if meaning:
        text.append(f" — {meaning}")
    if source == "netlink":
        text.append(" (always, on Linux)", style="dim")
    return text


def applied_text(conn: TcpConnection) -> Text | None:
    """``Internet — the Windows TCP settings template applied``; None where the source does
    not report it (Linux, psutil: the not-reported list says why, a row would say nothing)."""
    if conn.applied_setting is None:
        return None
    text = Text(ENUMS["AppliedSetting"].decode(conn.applied_setting).name, style="bold")
    text.append(" — the Windows TCP settings template applied")
    return text


def age_text(conn: TcpConnection, started_at: datetime, now: datetime) -> Text:
    """The age, and whether CreationTime is a first sighting or only an upper bound."""
    created = conn.creation_time
    if created is None:
        return Text("not reported: the source gives no creation time", style="italic")
    text = Text()
    # A bound shown to the second is rounded up: rounding down would claim an earlier time.
    if conn.created_before_start and created <= started_at:
        text.append(f"≥ {fmt.age_words(now - started_at)}", style="bold")
        text.append(f"; CreationTime ≤ {fmt.clock(_ceil_second(started_at))} (tcpscope's start)")
    elif conn.created_before_start:  # open when a --remote feed reconnected: no earlier sight
        text.append(f"≥ {fmt.age_words(now - created)}", style="bold")
        bound = fmt.clock(_ceil_second(created))
        text.append(f"; CreationTime ≤ {bound} (tcpscope's reconnection)")
    else:
        text.append(fmt.age_words(now - created), style="bold")
        text.append(f"; CreationTime ≤ {fmt.clock(_ceil_second(created))} (first seen)")
    if conn.state in STATE_HINTS:  # a State that says "if it lasts": how long it has
        name = fmt.state_name(conn.state)
        changed = conn.state_changed_at
        if changed is None:
            text.append(f"; {name} throughout")
        elif now - changed < timedelta(seconds=1):  # "for ≥ 0s" said nothing
            text.append(f"; {name} since this sample")
        else:  # seen changed at that sample: it changed after the one before
            text.append(f"; {name} for ≥ {fmt.age(now - changed)}")
    return text


def _ceil_second(when: datetime) -> datetime:
    if not when.microsecond:
        return when
    return when.replace(microsecond=0) + timedelta(seconds=1)


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{fmt.short_rate(value)}/s"


def tcp_lines(
    info: TcpInfo | None,
    rate: ByteRate | None,
    *,
    state: TcpState | None = None,
    source: str = "netlink",
    ghost: bool = False,
    owner: OwnerStatus | None = None,
    procfs: bool = False,
) -> tuple[Text, Text]:
    """``rtt … cwnd … retrans …`` and ``in … out …`` (bytes and current rates); for a
    listener (``state`` Listen) its accept queue against its backlog, and no byte line."""
    if info is None:
        none = Text(why_no_tcp_info(source, state, ghost, owner, procfs=procfs))
        none.stylize("italic")
        return none, Text("")
    if state is TcpState.LISTEN:
        return accept_queue_text(info), Text("")
    health = Text()
    health.append("rtt ")
    # No sample yet: the kernel's 0 and its initial variance are no measurement (ss too).
    if no_rtt := not_measured(state, info).get("rtt_us"):
        health.append(no_rtt, style="italic")
    else:
        health.append(f"{_ms(info.rtt_us)} ms", style="bold")
        health.append(f" ±{_ms(info.rttvar_us)}")
    health.append("   cwnd ")
    health.append(str(info.snd_cwnd), style="bold")
    health.append("   retrans ")
    retrans = f"{info.retrans} now, {info.total_retrans} total"  # ss: retrans:now/total
    health.append(retrans, style="bold" if info.retrans else "")
    if info.lost:
        health.append(f"   lost {info.lost}", style="bold")
    traffic = Text()
    traffic.append("in ")
    traffic.append(fmt.size(info.bytes_received), style="bold")
    traffic.append(f" ({_rate(rate.in_per_s if rate else None)})")
    traffic.append("   out ")
    traffic.append(fmt.size(info.bytes_acked), style="bold")
    traffic.append(f" ({_rate(rate.out_per_s if rate else None)})")
    if any(0 < (count or 0) < 1024 for count in (info.bytes_received, info.bytes_acked)):
        traffic.append(f"   {SEQUENCE_NOTE}", style="dim")
    return health, traffic


SEQUENCE_NOTE: Final = "SYN/FIN count 1 each"
"""Said beside a byte count shown to the byte: the kernel's counts are sequence space (a
FIN, and the SYN of the side that connected, count one; :mod:`core.connections.seq_space`
says why they cannot be taken off for certain). From 1 KiB a byte does not show."""


def queue_text(
    info: TcpInfo | None,
    state: TcpState,
    width: int,
    owner: OwnerStatus | None = None,
    *,
    shut: bool = False,
) -> Text | None:
    """Bytes waiting in a connection's queues, or None when both are empty (or unknown).

    Why on the summary: a sender whose peer stopped reading looks healthy by rtt, cwnd and
    retransmissions, and its byte rate is 0 like an idle one's; the Send-Q (``idiag_wqueue``:
    written by the process, not yet acknowledged: in flight or unsent) is what says it is
    stuck, and the Recv-Q (``idiag_rqueue``) that the owner is not reading. ``shut``: the
    peer's window is zero (:func:`core.connections.window_shut`), said under the Send-Q with
    how long that lasts, unless the State's hint says it (a FIN waiting: FinWait1, Closing,
    LastAck); otherwise no claim why the queue is not draining. A listener's queues are its accept
    queue (:func:`accept_queue_text`). The kernel counts a SYN or FIN in them as a byte: it is
    named, not shown as data (:mod:`core.connections.seq_space`); the tcp_info section keeps
    the raw numbers, as ``ss`` shows them. Who has not read is said only when known: a
    process (``owner`` found), nobody yet (still in the accept queue), nobody any more (an
    orphan)."""
    if info is None or state is TcpState.LISTEN:
        return None
    sent, got = info.send_q or 0, info.recv_q or 0
    if not sent and not got:
        return None
    queues = _queue_lines(state, sent, got, width, owner)
    if not shut or send_q_control(state, sent) is not None:  # a FIN's: the State hint says it
        return queues
    return Text("\n").join((queues, Text(window_wait(state, owner), style="italic")))


def _queue_lines(
    state: TcpState, sent: int, got: int, width: int, owner: OwnerStatus | None
) -> Text:
    send = Text() if not sent else _send_part(state, sent)
    if not got:
        send.truncate(width, overflow="ellipsis")
        return send
    recv = _recv_part(state, got, owner, short=False)
    if not sent:
        recv.truncate(width, overflow="ellipsis")
        return recv
    # Both: on one line when it fits (who has not read left out if need be), else two.
    for tail in (recv, _recv_part(state, got, owner, short=True)):
        line = Text.assemble(send, "   ", tail)
        if line.cell_len <= width:
            return line
    send.truncate(width, overflow="ellipsis")
    recv.truncate(width, overflow="ellipsis")
    return Text("\n").join((send, recv))


def _send_part(state: TcpState, sent: int) -> Text:
    text = Text()
    control = send_q_control(state, sent)
    if control is None:
        text.append("Send-Q ")
        text.append(fmt.size(sent), style="bold")
        text.append(" unacked/unsent")
    elif sent == 1:
        text.append("Send-Q: ")
        text.append(f"our {control}", style="bold")
        text.append(", not acknowledged yet")
    else:
        text.append("Send-Q ")
        text.append(fmt.size(sent - 1), style="bold")
        text.append(f" + our {control} unacked/unsent")
    return text


def _recv_part(state: TcpState, got: int, owner: OwnerStatus | None, *, short: bool) -> Text:
    """``short``: no room to say who has not read (beside a Send-Q); an orphan's queue is
    still said to be never read: nobody will."""
    text = Text()
    nobody_now = owner is not None and orphaned(state, owner)
    if nobody_now:
        unread = "never read" if short else "never read (closed before reading it)"
    elif short or owner is None:
        unread = "not read"
    elif owner is OwnerStatus.FOUND:
        unread = "not read by the process"
    elif unaccepted(state, owner):
        unread = "not read (not accept()ed yet)"
    else:  # not known who holds it: no claim
        unread = "not read"
    if not recv_q_holds_fin(state, got):
        text.append("Recv-Q ")
        text.append(fmt.size(got), style="bold")
        text.append(f" {unread}")
        return text
    if got == 1:
        text.append("Recv-Q: ")
        text.append("end of stream", style="bold")
        text.append(f" {unread}")
    else:
        text.append("Recv-Q ")
        text.append(fmt.size(got - 1), style="bold")
        text.append(f" + end of stream {unread}")
    return text


def _ms(us: int) -> str:
    """Microseconds as milliseconds, to the microsecond below 1 ms (as ss prints rtt): a
    loopback or LAN rtt of 18 µs was drawn "0.0 ms", as if none was measured."""
    return f"{us / 1000:.3f}" if us < 1000 else f"{us / 1000:.1f}"


NO_TCP_INFO_HERE: Final = (
    "not reported: the kernel gives no tcp_info for TIME_WAIT sockets and handshake requests "
    "(SynReceived)"
)
NOT_IN_SAMPLE: Final = (
    "not reported in this sample: tcp_info is read for the rows on screen and the detail "
    "pane's connection; the next sample has it"
)
PROCFS_NO_INFO: Final = (
    "not reported: its network namespace is read from /proc/PID/net/tcp (sock_diag inside it "
    "needs CAP_SYS_ADMIN), and the kernel gives no tcp_info there"
)
NO_TCP_INFO: Final = {
    "psutil": "not reported: psutil gives no tcp_info (the netlink source does)",
    "demo": "not reported: the demo host invents no tcp_info for this connection",
}
"""Why a connection has no tcp_info, by source, where the source says it and not the socket."""
CLOSED_NO_INFO: Final = "not reported: the connection has closed (tcp_info is a live socket's)"
NOTHING_TO_MEASURE: Final = (
    "not reported: the kernel gives no tcp_info for a socket only bound (no connection)"
)
ORPHAN_NO_INFO: Final = (
    "not reported: no process holds it, and the kernel keeps an orphaned FinWait2 as a "
    "minisocket without tcp_info (until net.ipv4.tcp_fin_timeout)"
)
ENDED_NO_INFO: Final = (
    "not reported: the kernel gives no tcp_info for a socket whose connection has ended"
)
_BY_STATE: Final = {
    TcpState.TIME_WAIT: NO_TCP_INFO_HERE,
    TcpState.SYN_RECEIVED: NO_TCP_INFO_HERE,
    TcpState.BOUND: NOTHING_TO_MEASURE,
    TcpState.CLOSED: ENDED_NO_INFO,
}
"""States the kernel dumps without tcp_info: a timewait or request socket, and the sockets
of its bind-table walk, Bound and Closed (sources.bound_walk: no INET_DIAG_INFO for them,
checked on the real kernel). "The next sample has it" would never come true for these."""


def why_no_tcp_info(
    source: str,
    state: TcpState | None = None,
    ghost: bool = False,
    owner: OwnerStatus | None = None,
    *,
    procfs: bool = False,
) -> str:
    """Why a connection in ``state`` of ``source`` has no tcp_info: closed (a ``ghost`` row),
    the source's reason, the socket's kind, or that this sample did not read it (one text for
    the summary's Health line and the detail's tcp_info section). It said "listening,
    TIME_WAIT or request sockets" for a demo CloseWait row too. ``procfs``: the socket's
    namespace was read from /proc/PID/net/tcp, which has no tcp_info."""
    if ghost:
        return CLOSED_NO_INFO
    if source in NO_TCP_INFO:
        return NO_TCP_INFO[source]
    if procfs:  # "the next sample has it" would never come true
        return PROCFS_NO_INFO
    if state is None:
        return NO_TCP_INFO_HERE
    if state is TcpState.FIN_WAIT2 and owner is OwnerStatus.NO_OWNER:
        return ORPHAN_NO_INFO
    return _BY_STATE.get(state, NOT_IN_SAMPLE)


def accept_queue_text(info: TcpInfo) -> Text:
    """A listener's health: connections waiting in its accept queue against its backlog.

    Why not rtt and cwnd: a listening socket sends nothing, so the kernel's tcp_info for it
    holds initial values (rtt 0, cwnd 10) that say nothing. What goes wrong with a listener is
    an application that accepts too slowly: once the queue holds more than the backlog the
    kernel drops new handshakes (ListenOverflows), which ``ss -lnt`` shows as Recv-Q over
    Send-Q."""
    waiting, backlog = info.recv_q, info.send_q
    if waiting is None or backlog is None:
        return Text("accept queue not reported by this source", style="italic")
    text = Text("accept queue ")
    text.append(f"{waiting} of {backlog}", style="bold")
    if waiting > backlog:  # the kernel's sk_acceptq_is_full
        text.append("  full: new handshakes are dropped", style="bold reverse")
    elif waiting:
        text.append("  connections waiting for accept()")
    return text


def summary(
    conn: TcpConnection,
    proc: ProcessInfo | None,
    info: TcpInfo | None,
    rate: ByteRate | None,
    *,
    source: str,
    started_at: datetime,
    now: datetime,
    ghost: bool,
    width: int,
    namespace: str | None = None,
    procfs: bool = False,
    window: int | None = None,
    hidepid: str | None = None,
) -> Table:
    """The answer-first block: one labelled line per question (State's meaning may wrap).

    ``namespace`` names the socket's network namespace, given when the rows come from more
    than one (at 80 columns the table has no room for its Namespace column); ``procfs``: that
    namespace was read from /proc/PID/net/tcp (no tcp_info); ``window``: the peer's receive
    window (None: not known), which when zero with data queued is why nothing moves;
    ``hidepid``: why other users' owners are hidden (Privilege.hidepid_short: the owner
    section says it whole), None: not by that."""
    table = Table.grid(padding=(0, 1))
    table.add_column("label", style="bold", no_wrap=True, width=LABEL_WIDTH)
    table.add_column("value", ratio=1)
    value_width = max(10, width - LABEL_WIDTH - 1)
    endpoints = Text(
        f"{_endpoint(conn.local_address, conn.local_port)} → "
        f"{_endpoint(conn.remote_address, conn.remote_port)}"
    )
    health, traffic = tcp_lines(
        info,
        rate,
        state=conn.state,
        source=source,
        ghost=ghost,
        owner=conn.owner_status,
        procfs=procfs,
    )
    table.add_row(Text("State"), state_line(conn, ghost))
    holder = None if proc is None else f"{fmt.safe(proc.name, '?')} ({proc.pid})"
    shut = not ghost and window_shut(conn.state, info, window)
    hint = None if ghost else state_hint(conn.state, conn.owner_status, holder, window_shut=shut)
    if hint is not None:
        table.add_row(Text(""), Text(hint, style="italic"))
    table.add_row(Text("Endpoint"), endpoints)
    if namespace is not None:
        table.add_row(Text("Netns"), Text(namespace))
    table.add_row(
        Text("Process"), process_text(conn, proc, source, started_at, value_width, hidepid)
    )
    table.add_row(Text("Offload"), offload_text(conn, source, started_at))
    applied = applied_text(conn)
    if applied is not None:  # at 80 columns the table folds its column away: said here
        table.add_row(Text("Applied"), applied)
    table.add_row(Text("Age"), age_text(conn, started_at, now))
    table.add_row(Text("Health"), health)
    queues = queue_text(info, conn.state, value_width, conn.owner_status, shut=shut)
    if queues is not None:  # a second line only then: the summary fits 80x24
        table.add_row(Text(""), queues)
    if traffic.plain:
        table.add_row(Text("Bytes"), traffic)
    return table
