"""``tcpscope --remote HOST close``: the snapshot, the shared-socket check and the closing all
happen on the server, in one agent session that stays open while the user confirms.

Why on the server: a socket id, a cookie and a PID mean something only on the host they came
from; closing them here would touch this machine's sockets. The records travel both ways with
the recording codec (lossless), so the server's :mod:`core.connections.actions` closes exactly
the socket the user saw, with the same refusals and words as a local ``close``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from core.connections.actions import CLOSE_REASONS, CloseTarget, Outcome, Refusal
from core.connections.model import TcpConnection
from core.connections.snapshot import Snapshot
from core.errors import MonitorError, RemoteError
from core.recording.codec import CONNECTION, DecodeError
from core.recording.frame_decoder import FrameDecoder
from core.recording.frame_encoder import FrameEncoder
from core.remote.session import AgentSession, Disconnected
from core.remote.target import RemoteTarget
from core.remote.wire import CONTROL, command

MODE = "actions"
"""The agent mode that serves these requests."""


def serve(request: dict[str, Any]) -> dict[str, Any]:
    """(On the server.) One request → its reply; errors become an ``error`` reply."""
    from core.connections.actions import close_connections, close_refused_here, close_targets
    from core.connections.oneshot import take_snapshot

    try:
        name = request.get("cmd")
        if name == "refused":  # (protocol 2) the local check, run where the closing happens
            return {CONTROL: "refused", "why": close_refused_here()}
        if name == "snapshot":
            snap = take_snapshot("netlink", tcp_info=False)
            return {CONTROL: "snapshot", "record": FrameEncoder(0.0).encode(snap, key=True)}
        conns = [CONNECTION.decode(raw) for raw in request.get("conns", [])]
        if name == "targets":
            return {
                CONTROL: "targets",
                "holders": [sorted(t.holders) for t in close_targets(conns)],
            }
        if name == "close":
            results = close_connections(conns)
            return {
                CONTROL: "closed",
                "outcomes": [
                    [o.done, o.message, o.refusal.value if o.refusal else None] for _, o in results
                ],
            }
        return {CONTROL: "error", "message": f"unknown request {name!r}"}
    except (MonitorError, DecodeError) as exc:
        return {CONTROL: "error", "message": str(exc)}


class RemoteActions:
    """The client's half: the same four calls ``close`` makes locally, answered remotely."""

    def __init__(self, target: RemoteTarget) -> None:
        """Start the agent (ssh may prompt); RemoteError with the cause if it cannot."""
        self.target = target
        self._session = AgentSession(target, {"mode": MODE}, batch=False)
        self._session.start()
        self._replies: Iterator[dict[str, Any]] = self._session.messages()

    def _ask(self, name: str, **fields: Any) -> dict[str, Any]:
        self._session.send(command(name, **fields))
        try:
            reply = next(self._replies)
        except (Disconnected, StopIteration) as exc:
            raise RemoteError(f"{self.target.label}: the agent went away ({exc})") from None
        if reply.get(CONTROL) == "error":
            raise RemoteError(f"{self.target.label}: {reply.get('message')}")
        return reply

    def close_refused(self) -> str | None:
        """Why the agent can close no socket at all (the server's ``close_refused_here``),
        asked before anything is listed; None when it can."""
        why = self._ask("refused").get("why")
        return None if why is None else self._advice(str(why))

    def snapshot(self) -> Snapshot:
        """One sample on the server (as ``take_snapshot`` would take it there)."""
        try:
            snap = FrameDecoder(0.0, one_shot=True).apply(self._ask("snapshot")["record"])
        except (DecodeError, KeyError) as exc:
            raise RemoteError(f"{self.target.label}: bad sample from the agent ({exc})") from None
        assert snap is not None
        return snap

    def close_targets(self, conns: Sequence[TcpConnection]) -> list[CloseTarget]:
        """Who holds each socket, read from the server's /proc."""
        reply = self._ask("targets", conns=[CONNECTION.encode(c) for c in conns])
        holders = reply.get("holders", [])
        return [CloseTarget(c, frozenset(h)) for c, h in zip(conns, holders, strict=False)]

    def close_connections(
        self, conns: Sequence[TcpConnection]
    ) -> list[tuple[TcpConnection, Outcome]]:
        """Close them on the server; the outcomes of those tried (as locally)."""
        reply = self._ask("close", conns=[CONNECTION.encode(c) for c in conns])
        out = []
        for conn, (done, message, refusal) in zip(conns, reply.get("outcomes", []), strict=False):
            kind = Refusal(refusal) if refusal else None
            out.append((conn, Outcome(bool(done), self._advice(str(message)), kind)))
        return out

    def _advice(self, message: str) -> str:
        """The server's words, with the remote way to the right where the local one would
        mislead: "run as root" meant this machine's root; on the server it is a root login
        or --remote-sudo (a root agent that still lacks the capability keeps its words)."""
        if message != CLOSE_REASONS[Refusal.NOT_PERMITTED]:
            return message
        return (
            "not permitted: closing a socket needs CAP_NET_ADMIN on the server: add "
            "--remote-sudo, or log in as root"
        )

    def end(self) -> None:
        """End the session (the agent exits with its stdin)."""
        self._session.close()
