"""The agent: samples on the server and streams a recording's records to the client.

It runs from the in-memory zipapp (:mod:`core.remote.bundle`) under the server's own
``python3`` with the standard library only: connections from netlink sock_diag, owners and
process details from /proc, IPsec from the kernel and strongSwan's VICI (the pure-Python
``vici`` package rides in the zipapp). Its stdout is :mod:`core.remote.wire`: a hello, then the
same header, key frame and deltas a ``tcpscope record`` file holds, so the client can show,
print or record them unchanged. Its stdin carries the client's commands (interval, pause,
which connections' tcp_info to watch).

Why it cannot outlive the session: the end of stdin (the SSH channel closed, however the
client died) ends the process at once with ``os._exit``, SIGHUP does the same, and so does a
write to a closed stdout (:func:`_send`). SIGPIPE stays ignored: restored to its default, it
also killed the agent on a write to a VICI socket charon had just closed (stopping or
restarting), which must read as charon's state, not end the session. Nothing is written to
the server's disk and nothing listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO, Final

from core.errors import MonitorError, UsageError
from core.remote import CONTROL, PROTOCOL, MessageWriter

HEARTBEAT_S: Final = 5.0
"""Longest silence: a paused or slow agent still proves it is alive this often."""
EXIT_FATAL: Final = 1
REKEY_FACTOR: Final = 4
REKEY_SLACK: Final = 65536
"""A key frame is sent when more connections were numbered than FACTOR × live + SLACK (at
1k connections and 10 new a second: every ~2 hours, ~40 kB)."""


def hello(version: str, sha256: str) -> dict[str, Any]:
    """Who and what runs the agent (the client checks version and hash, shows user/privilege)."""
    import pwd

    euid = os.geteuid()
    try:
        user = pwd.getpwuid(euid).pw_name
    except KeyError:
        user = str(euid)
    return {
        CONTROL: "hello",
        "protocol": PROTOCOL,
        "version": version,
        "sha256": sha256,
        "python": platform.python_version(),
        "executable": sys.executable,
        "user": user,
        "euid": euid,
        "sudo_user": os.environ.get("SUDO_USER"),
        "host": socket.gethostname(),
        "platform": platform.platform(),
    }


def fatal(cause: str, message: str) -> dict[str, Any]:
    """The one message before the agent gives up (the client turns it into its error line)."""
    return {CONTROL: "fatal", "cause": cause, "message": message}


def refused(exc: MonitorError, cause: str) -> dict[str, Any]:
    """``fatal`` for ``exc``: cause ``usage`` when the user's input was refused here (a
    ``--vici`` or ``--netns`` of this server's), so the client exits 2 with the local words."""
    return fatal("usage" if isinstance(exc, UsageError) else cause, str(exc))


class Agent:
    """One session's work; ``config`` is the client's first line (see :func:`run_mode`)."""

    def __init__(self, config: dict[str, Any], writer: MessageWriter, version: str) -> None:
        """Nothing runs until :meth:`run`."""
        self.config = config
        self.writer = writer
        self.version = version
        self.loop: asyncio.AbstractEventLoop | None = None
        self.feed: Any = None
        self._last_send = time.monotonic()
        self._lock = threading.Lock()
        self._early: list[bytes] = []
        self._requests: asyncio.Queue[dict[str, Any]] | None = None

    def send(self, message: dict[str, Any]) -> None:
        """Write one message (from the event loop thread only)."""
        _send(self.writer, message)
        self._last_send = time.monotonic()

    def deliver(self, line: bytes) -> None:
        """A command line from the stdin thread; kept until the event loop runs."""
        with self._lock:
            loop = self.loop
            if loop is None:
                self._early.append(line)
                return
        loop.call_soon_threadsafe(self.command, line)

    async def run(self) -> int:
        """The session's mode until it ends; the exit code."""
        mode = self.config.get("mode")
        if mode == "actions":
            self._requests = asyncio.Queue()
        with self._lock:
            self.loop = asyncio.get_running_loop()
            early, self._early = self._early, []
        for line in early:
            self.command(line)
        if mode == "actions":
            return await self._actions()
        if mode == "ipsec":
            return await self._ipsec()
        if mode == "stream":
            return await self._stream()
        if mode == "snapshot":
            return await self._snapshot()
        self.send(fatal("protocol", f"unknown mode {mode!r}"))
        return EXIT_FATAL

    def command(self, line: bytes) -> None:
        """A command line from stdin (called on the event loop)."""
        try:
            cmd = json.loads(line)
            name = cmd["cmd"]
        except (ValueError, KeyError, TypeError):
            return
        if self._requests is not None:
            self._requests.put_nowait(cmd)
            return
        feed = self.feed
        if feed is None:
            return
        with contextlib.suppress(MonitorError, KeyError, TypeError, ValueError):
            if name == "interval":
                feed.set_interval(float(cmd["s"]))
            elif name == "pause":
                feed.pause()
            elif name == "resume":
                feed.resume()
            elif name == "watch":
                feed.watch_tcp_info([str(i) for i in cmd["ids"]])

    async def _actions(self) -> int:
        """Serve ``close`` requests (core.remote.actions) until stdin ends the process."""
        from core.remote import serve_actions

        assert self._requests is not None
        while True:
            request = await self._requests.get()
            self.send(await asyncio.to_thread(serve_actions, request))

    async def _ipsec(self) -> int:
        from core.ipsec import IpsecSampler, check_vici_path, get_providers
        from core.recording import IPSEC_VIEW

        try:
            check_vici_path(self.config["vici"])  # the path is this server's (see ipsec._validate)
            sampler = IpsecSampler.one_shot(
                get_providers(self.config["provider"], self.config["vici"])
            )
        except MonitorError as exc:
            self.send(refused(exc, "ipsec"))
            return EXIT_FATAL
        try:
            view = await asyncio.to_thread(sampler.sample)
        finally:
            sampler.close()
        self.send({CONTROL: "ipsec", "view": IPSEC_VIEW.encode(view)})
        return 0

    async def _snapshot(self) -> int:
        """One sample taken as ``tcpscope connections`` takes it on this server: the same
        call, so it waits for container names as a local one-shot does (a stream's first
        sample does not: its names come in later samples)."""
        from core.connections import take_snapshot
        from core.netns import namespace_dumps
        from core.recording import FrameEncoder

        cfg = self.config
        tcp_info = bool(cfg["every_tcp_info"])
        netns = cfg.get("netns") if isinstance(cfg.get("netns"), str) else None
        beat = asyncio.create_task(self._heartbeat())
        try:
            snap = await asyncio.to_thread(
                take_snapshot,
                "netlink",
                tcp_info=tcp_info,
                namespaces=lambda: namespace_dumps(netns, tcp_info=tcp_info),
            )
        except MonitorError as exc:
            self.send(refused(exc, "source"))
            return EXIT_FATAL
        finally:
            beat.cancel()
        self.send(FrameEncoder(0.0).encode(snap, key=True))
        return 0

    async def _stream(self) -> int:
        from core.commands.feeds import FeedOptions, make_feed
        from core.commands.record import header_factory
        from core.recording import FrameEncoder

        cfg = self.config
        options = FeedOptions(
            source="netlink",
            interval_s=float(cfg["interval_s"]),
            ghost_ttl_s=float(cfg["ghost_ttl_s"]),
            ipsec=bool(cfg["ipsec"]),
            provider=str(cfg["provider"]),
            vici=cfg["vici"],
            every_tcp_info=bool(cfg["every_tcp_info"]),
            netns=cfg.get("netns") if isinstance(cfg.get("netns"), str) else None,
        )
        try:
            self.feed = feed = make_feed(options)
        except MonitorError as exc:
            self.send(refused(exc, "source"))
            return EXIT_FATAL
        if cfg.get("paused"):
            feed.pause()
        header_of = header_factory(options, providers=getattr(feed, "ipsec_providers", ()))
        encoder = FrameEncoder(options.ghost_ttl_s)
        beat = asyncio.create_task(self._heartbeat())
        sent = 0
        try:
            async for snap in feed.stream():
                if not sent:
                    header = dataclasses.replace(header_of(snap), tcpscope=self.version)
                    self.send(header.to_json())
                # Deltas only after the first frame, but both ends number every connection
                # ever seen: under churn, a key frame every few hours bounds that memory.
                rekey = encoder.numbered > REKEY_FACTOR * len(snap.connections) + REKEY_SLACK
                self.send(encoder.encode(snap, key=not sent or rekey))
                sent += 1
        finally:
            beat.cancel()
            await feed.aclose()
        return 0

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S / 2)
            if time.monotonic() - self._last_send >= HEARTBEAT_S:
                self.send({CONTROL: "beat"})


def _read_commands(inp: BinaryIO, deliver: Callable[[bytes], None]) -> None:
    """Stdin reader thread: every line to ``deliver``; the end of stdin ends the process."""
    try:
        for line in inp:
            deliver(line)
    finally:
        os._exit(0)


def _send(writer: MessageWriter, message: dict[str, Any]) -> None:
    """Write one message to the client; its stream closed means the session is over: end."""
    try:
        writer.send(message)
    except BrokenPipeError:
        os._exit(0)


def main(version: str, sha256: str) -> None:
    """Entry point (called by the bootstrap with the version and hash it checked)."""
    signal.signal(signal.SIGHUP, lambda *_: os._exit(0))
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    writer = MessageWriter(out)
    line = inp.readline()
    if not line:
        os._exit(0)
    config = json.loads(line)
    _send(writer, hello(version, sha256))
    agent = Agent(config, writer, version)

    threading.Thread(target=_read_commands, args=(inp, agent.deliver), daemon=True).start()
    try:
        code = asyncio.run(agent.run())
    except Exception as exc:  # the client shows one line; the traceback stays here
        _send(writer, fatal("agent", f"{type(exc).__name__}: {exc}".splitlines()[0]))
        code = EXIT_FATAL
    with contextlib.suppress(BrokenPipeError):
        out.flush()
    os._exit(code)
