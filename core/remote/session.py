"""One SSH session running the agent: start it, check it, read its messages, end it.

Why threads and a plain ``subprocess.Popen`` rather than asyncio subprocesses: the session is
opened before the TUI's event loop exists (so a bad host fails before the screen changes, and
ssh may still ask for a password on the terminal), then read from the app's loop; a blocking
reader thread works with either. stderr is drained by its own thread (the server's login
noise must never block ssh) and its last lines explain failures.

Why the loader's status line is searched for rather than read first: a login shell's startup
files (``echo`` in ``~/.bashrc``, a terminal-title escape) print to the same stdout before
the shell runs our command. That text is skipped, up to :data:`NOISE_LIMIT_BYTES`; when no
status line follows, the error quotes it (escaped: it is untrusted and may hold terminal
controls) so the user knows which file to quieten.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from core.errors import MonitorError, RemoteError
from core.remote import failures
from core.remote.bundle import (
    READING,
    RECEIVED,
    SHELL_RAN,
    STATUS_PREFIX,
    Bundle,
    build_bundle,
    remote_command,
)
from core.remote.deathsig import dying_with_the_caller
from core.remote.notice import Stages
from core.remote.target import RemoteTarget, ssh_argv
from core.remote.wire import CONTROL, PROTOCOL, MessageReader, WireError
from core.textsafe import printable

START_TIMEOUT_S: Final = 30.0
"""Unattended starts give up after this at least; an interactive one waits for the user. See
:func:`start_timeout` for a slow link."""
MAX_START_TIMEOUT_S: Final = 600.0
"""However slow the link, an unattended start is given up after this (a hung server is still
found out)."""
STALL_S: Final = 30.0
"""Once the loader reads the agent, nothing of it arriving for this long means the link is
dead (it says every second what arrived: see :data:`core.remote.bundle.RECEIVED`), however
much time the start has left. ssh sends in packets of up to 32 kB, so a link slower than
about 1 kB/s is taken for a dead one."""
IDLE_TIMEOUT_S: Final = 20.0
"""No byte for this long (the agent beats every 5 s) means the link is dead."""
_STDERR_LINES: Final = 40
NOISE_LIMIT_BYTES: Final = 64 * 1024
"""Most the login shell may print before the loader's status line; past it we give up."""
_STATUS_MARK: Final = f"{STATUS_PREFIX} ".encode("ascii")
_QUOTE_CHARS: Final = 80


def start_timeout(last_start_s: float | None, sending_cut_s: float | None = None) -> float:
    """How long an unattended start may take, given how long the last successful one took
    and, if the last attempt was cut while still sending the agent, the time it had.

    Why not a fixed time: every session uploads the agent (~375 kB), so on a link of a few
    kB/s a start takes longer than :data:`START_TIMEOUT_S`, and a reconnection bounded by it
    would never succeed although the first (unbounded) start did. Twice the last start
    leaves room for a slower moment of the same link; an attempt cut mid-send (the link got
    slower since) gives the next one twice its time; the cap keeps a hung server found.
    """
    wanted = [START_TIMEOUT_S]
    if last_start_s is not None:
        wanted.append(2.0 * last_start_s)
    if sending_cut_s is not None:
        wanted.append(2.0 * sending_cut_s)
    return min(MAX_START_TIMEOUT_S, max(wanted))


def prompt_possible() -> bool:
    """Whether ssh could ask for a password or passphrase: a controlling terminal (ssh asks on
    /dev/tty, whatever stdin is) or an askpass program it would run. Without either (cron, a
    service) nobody can answer, so a start that hangs is a hang, not a user typing."""
    env = os.environ
    if env.get("SSH_ASKPASS") and (
        env.get("DISPLAY") or env.get("SSH_ASKPASS_REQUIRE") in ("force", "prefer")
    ):
        return True
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


_GROUPED: Final[set[AgentSession]] = set()
"""Sessions whose ssh runs in a process group of its own (see :func:`end_with_the_client`)."""
_ENDING_SIGNALS: Final = (signal.SIGTERM, signal.SIGHUP)


def end_with_the_client() -> None:
    """Make SIGTERM and SIGHUP (timeout(1), ``kill``, a closed terminal) end the ssh of every
    unattended session before they end tcpscope as they would have.

    Why: an unattended ssh has a process group of its own (so :meth:`AgentSession.close`
    reaches its helpers), so a signal sent to the client's group (timeout's) no longer reaches
    it, and a client that dies of the signal would leave it running with parent 1. Only where
    the signal would kill (its default action); from the main thread (else nothing is done:
    the caller's own handlers close the sessions)."""
    with contextlib.suppress(ValueError):  # not the main thread
        for sig in _ENDING_SIGNALS:
            if signal.getsignal(sig) == signal.SIG_DFL:
                signal.signal(sig, _end_sessions)


def _end_sessions(sig: int, _frame: object) -> None:
    for grouped in list(_GROUPED):
        grouped._signal(signal.SIGTERM)
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)  # then die of it, as without this handler


class Disconnected(Exception):
    """The session ended; the message says how (one line)."""


@dataclass(frozen=True, slots=True)
class Hello:
    """What the agent said about itself."""

    python: str
    executable: str
    user: str
    euid: int
    sudo_user: str | None
    host: str
    platform: str

    @property
    def privilege(self) -> str:
        """``root``, ``root via sudo`` or ``user`` (what the header shows)."""
        if self.euid != 0:
            return "user"
        return "root via sudo" if self.sudo_user else "root"


class AgentSession:
    """The ssh process, its agent and the message stream."""

    def __init__(
        self,
        target: RemoteTarget,
        config: dict[str, Any],
        *,
        batch: bool,
        timeout_s: float | None = None,
        sending_timeout_s: float | None = None,
    ) -> None:
        """Nothing runs until :meth:`start`. ``batch`` (a reconnection: ssh may not prompt)
        or no possible prompt (:func:`prompt_possible`) makes the start unattended: it gives
        up after ``timeout_s`` (default :data:`START_TIMEOUT_S`), or ``sending_timeout_s``
        (if longer) once the server's loader reads the agent."""
        self.target = target
        self.config = config
        self.batch = batch
        self.unattended = batch or not prompt_possible()
        self.timeout_s = START_TIMEOUT_S if timeout_s is None else timeout_s
        self.sending_timeout_s = max(self.timeout_s, sending_timeout_s or 0.0)
        self.sending_cut = False
        """The start was given up while the loader was still reading the agent (a slow
        link, not a silent server): the next attempt deserves more time."""
        self._shell_ran = False
        """The login shell echoed :data:`SHELL_RAN`: it runs the command."""
        self._reading = False
        self._received = 0
        """Bytes of the agent the loader said it has."""
        self._progress_at = 0.0
        """time.monotonic() of the loader's last word while reading (the stall clock)."""
        self._size = 0
        self.data_at = 0.0
        """time.monotonic() when the last byte came from the server (an outage's start)."""
        self._started = 0.0
        self.start_s: float | None = None
        """How long :meth:`start` took, once it succeeded (for the next one's timeout)."""
        self.hello: Hello | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=_STDERR_LINES)
        self._stderr_done = threading.Event()
        self._stderr_count = 0
        """Lines ssh wrote on stderr so far (the deque keeps the last ones)."""
        self._stderr_at_hello = 0
        """``_stderr_count`` when the agent said hello: what came before is the login's."""
        self._buffer = b""
        self._noise = b""
        """The start of what the login shell printed before the status line (for errors)."""
        self._noise_bytes = 0
        self._reader = MessageReader()
        self._early: list[dict[str, Any]] = []
        self._send_lock = threading.Lock()
        self._closed = False

    @property
    def wire_bytes(self) -> int:
        """Compressed bytes received from the agent so far."""
        return self._reader.wire_bytes

    # --- start ------------------------------------------------------------------------
    def start(self, bundle: Bundle | None = None, notice: Stages | None = None) -> Hello:
        """Start ssh and the agent; the agent's hello (RemoteError with the cause if not).
        ``notice`` is told each stage (a slow link's first start shows them)."""
        bundle = bundle or build_bundle()
        self._size = len(bundle.data)
        self._started = started = time.monotonic()
        command = remote_command(self.target.python, sudo=self.target.sudo)
        argv = ssh_argv(self.target, command, batch=self.batch)
        try:
            self._proc = subprocess.Popen(
                # Ends with this thread even if tcpscope is SIGKILLed (see core.remote.deathsig:
                # start sessions from a thread that outlives them).
                dying_with_the_caller(argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                bufsize=0,
                # Its own process group when nobody can type into it: close() then ends ssh's
                # helpers too (a ProxyCommand, a TCPSCOPE_SSH wrapper). Not when it may prompt:
                # a background group reading the terminal would be stopped (SIGTTIN).
                process_group=0 if self.unattended else None,
            )
        except OSError as exc:
            # Escaped as README says (``ssh\xff``), not Python's repr (``'ssh\udcff'``).
            raise RemoteError(f"cannot run '{printable(argv[0])}': {exc.strerror or exc}") from None
        if self.unattended:
            _GROUPED.add(self)
            end_with_the_client()
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        deadline = started + self.timeout_s if self.unattended else None
        config = json.dumps({**self.config, "version": bundle.version}).encode() + b"\n"
        # Written by a thread: a link that stalls (or ssh waiting for a password) blocks the
        # write, and the deadline must still hold.
        writer = threading.Thread(
            target=self._write, args=(bundle.preamble() + config,), daemon=True
        )
        writer.start()
        size = len(bundle.data) // 1024
        sending = f"sending the agent ({size} kB) to {self.target.label}…"
        try:
            status = self._status_line(deadline, notice, sending)
            if status is None:
                raise RemoteError(self._exit_cause() + self._noise_note())
            if status.split()[:2] != [STATUS_PREFIX, "ok"]:
                raise RemoteError(failures.from_status(self.target, status))
            # The agent has arrived and answers at once: STALL_S of silence is a dead link.
            sent_by = self._sending_deadline(deadline)
            stall_at = time.monotonic() + STALL_S
            message = self._first_message(stall_at if sent_by is None else min(sent_by, stall_at))
            if message is None:
                raise RemoteError(self._exit_cause())
            self.hello = self._check_hello(message, bundle)
        except BaseException:
            self.close()
            raise
        writer.join(5.0)  # the agent read it all: done, or about to be
        self._stderr_at_hello = self._stderr_count
        self.start_s = time.monotonic() - started
        return self.hello

    def _sending_deadline(self, deadline: float | None) -> float | None:
        """The deadline once the loader reads the agent: the time allowed for sending it."""
        if deadline is None:
            return None
        return self._started + self.sending_timeout_s

    def _check_hello(self, message: dict[str, Any], bundle: Bundle) -> Hello:
        if message.get(CONTROL) == "fatal":
            raise self._fatal(message)
        if message.get(CONTROL) != "hello":
            raise RemoteError(f"{self.target.label}: the agent did not say hello")
        if (message.get("protocol"), message.get("version"), message.get("sha256")) != (
            PROTOCOL,
            bundle.version,
            bundle.sha256,
        ):
            raise RemoteError(f"{self.target.label}: the agent is not the one sent (version/hash)")
        try:
            return Hello(
                python=str(message["python"]),
                executable=str(message["executable"]),
                user=str(message["user"]),
                euid=int(message["euid"]),
                sudo_user=message.get("sudo_user") and str(message["sudo_user"]),
                host=str(message["host"]),
                platform=str(message["platform"]),
            )
        except (KeyError, TypeError, ValueError):
            raise RemoteError(f"{self.target.label}: malformed hello from the agent") from None

    def _fatal(self, message: dict[str, Any]) -> MonitorError:
        return failures.fatal_error(
            self.target, str(message.get("cause", "?")), str(message.get("message", ""))
        )

    # --- reading ----------------------------------------------------------------------
    def _read_chunk(self, deadline: float | None) -> bytes:
        """Bytes from the agent; b"" at the end; TimeoutError past ``deadline``."""
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            raise TimeoutError
        data = os.read(fd, 1 << 16)
        if data:
            self.data_at = time.monotonic()
        return data

    def _status_line(
        self, deadline: float | None, notice: Stages | None, sending: str
    ) -> str | None:
        """The loader's last status line past the login shell's text, or None if the session
        ended first (RemoteError past the deadline or :data:`NOISE_LIMIT_BYTES`). Its
        ``reading`` line tells ``notice`` the agent is being sent and moves the deadline; its
        ``got`` lines say the link still carries the agent (see :data:`STALL_S`)."""
        while True:
            status = self._status_once(deadline)
            words = [] if status is None else status.split()
            if words[1:] == [SHELL_RAN] and not self._shell_ran:
                self._shell_ran = True
                continue
            if self._reading and words[1:2] == [RECEIVED]:
                if words[2:3] and words[2].isdigit():
                    self._received = int(words[2])
                self._progress_at = time.monotonic()
                continue
            if status is None or words[1:2] != [READING] or self._reading:
                return status
            self._reading = True
            self._progress_at = time.monotonic()
            deadline = self._sending_deadline(deadline)
            if notice is not None:
                notice.stage(sending)

    def _status_once(self, deadline: float | None) -> str | None:
        """One status line (see :meth:`_status_line`)."""
        while (status := self._take_status()) is None:
            if self._noise_bytes + len(self._buffer) > NOISE_LIMIT_BYTES:
                raise RemoteError(
                    f"{self.target.label}: the login shell printed text and never started the "
                    f"agent (over {NOISE_LIMIT_BYTES // 1024} kB: {self._quote()}); its startup "
                    "files (~/.bashrc …) must print nothing to a non-interactive shell"
                )
            stall_at = self._stall_at()
            stalled = stall_at is not None and (deadline is None or stall_at < deadline)
            try:
                chunk = self._read_chunk(stall_at if stalled else deadline)
            except TimeoutError:
                raise RemoteError(self._timed_out(stalled=stalled)) from None
            if not chunk:
                return None
            self._buffer += chunk
        return status

    def _stall_at(self) -> float | None:
        """When the link counts as dead if the loader says nothing more (None: not reading)."""
        return self._progress_at + STALL_S if self._reading else None

    def _arrived(self) -> str:
        """``120 kB of 374 kB``: how much of the agent the loader said it has."""
        return f"{self._received // 1024} kB of {self._size // 1024} kB"

    def _timed_out(self, *, stalled: bool = False) -> str:
        """Why the start was given up: the link stopped carrying the agent (``stalled``), it
        carried it too slowly, or no answer at all. Only a reconnection (``batch``) has a next
        attempt to speak of: a one-shot or a first start ends here."""
        if stalled:
            return (
                f"{self.target.label}: the link went dead while sending the agent: nothing "
                f"got through for {STALL_S:g} s ({self._arrived()} had arrived)"
            )
        if self._reading:
            self.sending_cut = True
            then = "; the next attempt waits longer" if self.batch else ""
            return (
                f"{self.target.label}: still sending the agent after "
                f"{self.sending_timeout_s:.3g} s (a slow link: {self._arrived()} had "
                f"arrived{then})"
            )
        return (
            f"{self.target.label}: no answer in {self.timeout_s:.3g} s (the server never "
            f"started the agent's loader){self._noise_note()}"
        )

    def _take_status(self) -> str | None:
        """The status line if a whole one is buffered; lines before it, and text before the
        prefix on its own line (a title escape has no newline), are kept as noise."""
        while (end := self._buffer.find(b"\n")) >= 0:
            line, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
            at = line.rfind(_STATUS_MARK)
            self._keep_noise(line if at < 0 else line[:at], newline=at < 0)
            if at >= 0:
                return line[at:].decode("ascii", "replace")
        return None

    def _keep_noise(self, text: bytes, *, newline: bool) -> None:
        text += b"\n" if newline else b""
        self._noise_bytes += len(text)
        self._noise = (self._noise + text)[: _QUOTE_CHARS * 4]

    def _quote(self) -> str:
        """The start of the login shell's text, escaped and shortened, in quotes."""
        raw = (self._noise + self._buffer)[: _QUOTE_CHARS * 4].strip()
        text = raw.decode("utf-8", "surrogateescape")  # cut before escaping, not mid-escape
        more = "…" if len(text) > _QUOTE_CHARS else ""
        return f"'{printable(text[:_QUOTE_CHARS])}{more}'"

    def _noise_note(self) -> str:
        """``; the login shell printed …`` when it did, for errors (else nothing)."""
        if not (self._noise + self._buffer).strip():
            return ""
        return f"; the login shell printed text: {self._quote()}"

    def _decode(self, chunk: bytes) -> Iterator[dict[str, Any]]:
        try:
            yield from self._reader.feed(chunk)
        except WireError as exc:
            raise RemoteError(f"{self.target.label}: {exc}") from None

    def _first_message(self, deadline: float | None) -> dict[str, Any] | None:
        """The first message (the hello), or None if the session ended first."""
        pending, self._buffer = self._buffer, b""
        while True:
            for message in self._decode(pending):
                self._early.append(message)
            if self._early:
                return self._early.pop(0)
            try:
                pending = self._read_chunk(deadline)
            except TimeoutError:
                raise RemoteError(f"{self.target.label}: the agent did not answer") from None
            if not pending:
                return None

    def messages(self) -> Iterator[dict[str, Any]]:
        """Messages until the session ends, then Disconnected with the reason.

        A ``fatal`` message raises RemoteError; heartbeats only keep the link alive.
        """
        pending = b""
        while True:
            backlog = [*self._early, *self._decode(pending)]
            self._early.clear()
            for message in backlog:
                kind = message.get(CONTROL)
                if kind == "fatal":
                    raise self._fatal(message)
                if kind != "beat":
                    yield message
            try:
                pending = self._read_chunk(time.monotonic() + IDLE_TIMEOUT_S)
            except TimeoutError:
                raise Disconnected(f"no data for {IDLE_TIMEOUT_S:g} s") from None
            if not pending:
                raise Disconnected(self._end_reason())

    def _end_reason(self) -> str:
        code = self._wait_exit(2.0)
        self._stderr_done.wait(1.0)
        since = self._stderr_count - self._stderr_at_hello  # the login's lines are old news
        lines = list(self._stderr)[-since:] if since else []
        return failures.from_end(code, lines)

    # --- writing and ending -----------------------------------------------------------
    def _write(self, data: bytes) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        pipe, view = self._proc.stdin, memoryview(data)
        try:
            while view:  # unbuffered: a write a signal interrupted may be partial
                view = view[pipe.write(view) or 0 :]
        except (OSError, ValueError):
            pass  # ssh ended or close() closed the pipe: its exit status and stderr tell why

    def send(self, data: bytes) -> None:
        """Send a command line to the agent (thread-safe; ignored once the session is over)."""
        with self._send_lock:
            if self._proc is not None and not self._closed:
                self._write(data)

    def _wait_exit(self, timeout_s: float) -> int | None:
        assert self._proc is not None
        try:
            return self._proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def _exit_cause(self) -> str:
        code = self._wait_exit(10.0)
        self._stderr_done.wait(2.0)
        if code is None:
            return f"{self.target.label}: the agent did not start"
        stderr = list(self._stderr)
        return failures.from_exit(self.target, code, stderr, shell_ran=self._shell_ran)

    def _drain_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        try:
            for raw in self._proc.stderr:
                self._stderr.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._stderr_count += 1
        finally:
            self._stderr_done.set()

    def close(self) -> None:
        """End the session now: stdin closed (the agent exits on EOF), ssh terminated."""
        with self._send_lock:
            self._closed = True
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        if proc.poll() is None:
            self._signal(signal.SIGTERM)
            if self._wait_exit(2.0) is None:
                self._signal(signal.SIGKILL)
                self._wait_exit(2.0)
        if proc.stdout is not None:
            with contextlib.suppress(OSError):
                proc.stdout.close()
        _GROUPED.discard(self)

    def _signal(self, sig: signal.Signals) -> None:
        """``sig`` to ssh, and to its process group when it has its own."""
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self.unattended:
                os.killpg(self._proc.pid, sig)
            else:
                self._proc.send_signal(sig)
