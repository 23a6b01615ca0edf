"""``--redact``: replace addresses, host names and user names with stable pseudonyms.

Why: a recording or a screenshot of a real host should be shareable without exposing it.
A pseudonym is a keyed hash (HMAC-SHA-256) of the original: the same address always gets the
same pseudonym within a run (so a connection can still be followed across samples), and
without the key nobody can test guesses (IPv4 is small enough to brute-force an unkeyed hash).
The key is random per run unless one is given (argument or ``$TCPSCOPE_REDACT_KEY``).

Addresses map into the documentation ranges: IPv4 into 192.0.2.0/24, 198.51.100.0/24 and
203.0.113.0/24 (RFC 5737), probing on collision so two hosts never share a pseudonym; IPv6 into
2001:db8::/32 (RFC 3849). Unspecified and loopback addresses are kept (they reveal nothing and
keep listeners recognisable). Host names and IKE identities become ``host-xxxxxx.example``;
every user name (``root`` too: a user asked to hide user names expects all of them)
``user-xxxxxx``. In command lines, executable paths, process names and error texts,
addresses, host names, the user names seen so far and ``/home/NAME`` are replaced too. The
socket owner's numeric uid is dropped: next to a pseudonym it would give the name away
(65534 is ``nobody`` everywhere). InstanceIDs are rebuilt from the pseudonyms. Never imports
textual, rich or humanize.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import ipaddress
import os
import re
from collections.abc import AsyncIterator, Collection, Mapping
from typing import Any, Final

from core.connections.model import ProcessInfo, TcpConnection, TcpInfo
from core.connections.namespaces import ContainerInfo, NamespaceInfo, NamespaceView
from core.connections.records import readdressed
from core.connections.snapshot import ConnectionDiff, Ghost, Snapshot, StateChange
from core.ipsec.model import ChildSa, IkeSa, IpsecView, ProviderView
from core.sampling.controls import PassedControls
from core.sampling.feed import StreamsIpsec, WatchesTcpInfo
from core.textsafe import printable

KEY_ENV: Final = "TCPSCOPE_REDACT_KEY"
_V4_NETS: Final = ("192.0.2", "198.51.100", "203.0.113")
_V4_SLOTS: Final = len(_V4_NETS) * 254
_IPV4: Final = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")
_IPV6: Final = re.compile(r"(?<![\w:])([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})(?![\w:])")
_HOSTNAME: Final = re.compile(
    r"(?<![\w.-])((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})(?![\w-])"
)
_HOME: Final = re.compile(r"(?<![\w.-])/home/([^/\s\"'`=:;,]+)")
"""A home directory names its user (``/home/alice/bin/tool`` run by anyone)."""


class Redactor:
    """Pseudonyms for one run (thread-safe enough: tables only grow, values never change)."""

    def __init__(self, key: bytes | None = None) -> None:
        """``key``: HMAC key; else ``$TCPSCOPE_REDACT_KEY`` (the same pseudonyms across runs,
        e.g. for several recordings of one incident); else random (they differ per run)."""
        if key is None:
            env = os.environ.get(KEY_ENV)
            # Its bytes as the shell passed them: one that is not UTF-8 is a key too.
            key = os.fsencode(env) if env else os.urandom(32)
        self._key = key
        self._v4: dict[str, str] = {}
        self._v4_used: set[int] = set()
        self._names: dict[str, str] = {}
        self._users: set[str] = set()
        self._user_words: re.Pattern[str] | None = None
        self.users_known = 0
        """How many user names :meth:`text` replaces (grows; cached results older than the
        current count may hold a name learnt since)."""

    def _digest(self, kind: str, text: str) -> bytes:
        return hmac.new(
            self._key, f"{kind}\0{text}".encode(errors="surrogatepass"), hashlib.sha256
        ).digest()

    def address(self, text: str) -> str:
        """The pseudonym of an address (text kept when it is not an address)."""
        try:
            addr = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            return text
        if addr.is_unspecified or addr.is_loopback:
            return text
        if isinstance(addr, ipaddress.IPv4Address):
            return self._ipv4(str(addr))
        if addr.ipv4_mapped is not None:
            return self._ipv4(str(addr.ipv4_mapped))
        low = int.from_bytes(self._digest("v6", str(addr))[:12], "big")
        return str(ipaddress.IPv6Address((0x20010DB8 << 96) | low))

    def _ipv4(self, text: str) -> str:
        if text in self._v4:
            return self._v4[text]
        slot = int.from_bytes(self._digest("v4", text)[:4], "big") % _V4_SLOTS
        if len(self._v4_used) < _V4_SLOTS:
            while slot in self._v4_used:  # never give two hosts one pseudonym
                slot = (slot + 1) % _V4_SLOTS
        self._v4_used.add(slot)
        net, host = divmod(slot, 254)
        pseudonym = f"{_V4_NETS[net]}.{host + 1}"
        self._v4[text] = pseudonym
        return pseudonym

    def network(self, text: str) -> str:
        """A traffic selector or CIDR (``10.1.0.0/16``): the address part pseudonymised."""
        addr, sep, rest = text.partition("/")
        return self.address(addr) + sep + rest

    def host(self, name: str) -> str:
        """A host name or identity: ``host-xxxxxx.example`` (an address stays an address)."""
        if self.address(name) != name or _is_address(name):
            return self.address(name)
        return self._name("host", name, "host-{}.example")

    def user(self, name: str) -> str:
        """A user name: ``user-xxxxxx`` (every one, ``root`` too); :meth:`text` replaces it
        from now on wherever it stands as a word."""
        self.learn_user(name)
        return self._name("user", name, "user-{}")

    def learn_user(self, name: str) -> None:
        """Replace ``name`` in free text from now on (not a bare number: an unresolved uid
        shown as a user name; as a word it would hit ports and counts in command lines)."""
        if name in self._users or not name or name.isdigit():
            return
        self._users.add(name)
        self.users_known = len(self._users)
        words = "|".join(re.escape(n) for n in sorted(self._users, key=len, reverse=True))
        self._user_words = re.compile(rf"(?<![\w.-])({words})(?![\w-])")

    def learn_homes(self, text: str) -> None:
        """Learn the user names of the home directories in ``text``."""
        if "/home/" in text:
            for match in _HOME.finditer(text):
                self.learn_user(match.group(1))

    def pseudonym(self, kind: str, name: str) -> str:
        """``<kind>-xxxxxx`` for any other name (namespaces, containers, pods)."""
        return self._name(kind, name, kind + "-{}")

    def _name(self, kind: str, name: str, pattern: str) -> str:
        key = f"{kind}:{name}"
        if key not in self._names:
            self._names[key] = pattern.format(self._digest(kind, name).hex()[:6])
        return self._names[key]

    def text(self, text: str) -> str:
        """Free text (a command-line argument): addresses and host names inside it replaced."""
        text = _IPV4.sub(lambda m: self.address(m.group(1)), text)
        text = _IPV6.sub(
            lambda m: self.address(m.group(1)) if _is_address(m.group(1)) else m.group(1), text
        )
        text = _HOSTNAME.sub(lambda m: self.host(m.group(1)), text)
        return self.users_in(text)

    def users_in(self, text: str) -> str:
        """``text`` with every user name learnt so far, and any home directory's, replaced."""
        self.learn_homes(text)
        words = self._user_words
        return text if words is None else words.sub(lambda m: self.user(m.group(1)), text)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class SnapshotRedactor:
    """Redacts whole snapshots, reusing redacted records for unchanged connections."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        """Use ``redactor`` (a fresh random-keyed one by default)."""
        self.redactor = redactor or Redactor()
        self._conns: dict[str, tuple[TcpConnection, TcpConnection]] = {}
        self._procs: dict[int, tuple[ProcessInfo, int, ProcessInfo]] = {}

    def connection(self, conn: TcpConnection) -> TcpConnection:
        """The redacted record; the same object for the same original (cheap diffs)."""
        cached = self._conns.get(conn.instance_id)
        if cached is not None and cached[0] is conn:
            return cached[1]
        r = self.redactor
        local, remote = r.address(conn.local_address), r.address(conn.remote_address)
        out = dataclasses.replace(
            conn,
            local_address=local,
            remote_address=remote,
            instance_id=readdressed(conn, local, remote),
            source_key=b"",
            uid=None,
        )
        self._conns[conn.instance_id] = (conn, out)
        return out

    def original(self, redacted: str) -> str | None:
        """The InstanceID behind a redacted one shown before (O(N): for rare lookups)."""
        for orig, (_conn, out) in self._conns.items():
            if out.instance_id == redacted:
                return orig
        return None

    def key(self, instance: str, conns: Mapping[str, TcpConnection]) -> str:
        """The redacted InstanceID of ``instance`` (a connection of ``conns`` or seen before)."""
        conn = conns.get(instance)
        if conn is not None:
            return self.connection(conn).instance_id
        cached = self._conns.get(instance)
        return cached[1].instance_id if cached else self.redactor.text(instance)

    def learn(self, procs: Collection[ProcessInfo]) -> None:
        """Learn the user names of ``procs`` (owners, home directories) before redacting any
        of them: one process's command line may name another's user."""
        r = self.redactor
        for proc in procs:
            cached = self._procs.get(proc.pid)
            if cached is not None and cached[0] is proc:
                continue
            if proc.username:
                r.learn_user(proc.username)
            for text in (proc.exe, *(proc.cmdline or ())):
                if text:
                    r.learn_homes(text)

    def process(self, proc: ProcessInfo) -> ProcessInfo:
        """Addresses, host and user names out of the process facts (the user's name also
        where it stands in the command line, executable path or process name)."""
        r = self.redactor
        cached = self._procs.get(proc.pid)
        if cached is not None and cached[0] is proc and cached[1] == r.users_known:
            return cached[2]
        if proc.username:
            r.learn_user(proc.username)
        out = dataclasses.replace(
            proc,
            name=r.users_in(proc.name) if proc.name else proc.name,
            username=r.user(proc.username) if proc.username else proc.username,
            cmdline=tuple(r.text(a) for a in proc.cmdline) if proc.cmdline else proc.cmdline,
            exe=r.users_in(proc.exe) if proc.exe else proc.exe,
        )
        self._procs[proc.pid] = (proc, r.users_known, out)
        return out

    def namespaces(self, view: NamespaceView) -> NamespaceView:
        """Namespace, container and pod names pseudonymised (inodes reveal nothing)."""
        return dataclasses.replace(
            view,
            namespaces=tuple(self._namespace(i) for i in view.namespaces),
            selection=view.selection if view.selection in ("all", "current") else "(redacted)",
        )

    def namespace(self, info: NamespaceInfo | None) -> NamespaceInfo | None:
        """One namespace (a ghost's own) as :meth:`namespaces` writes it."""
        return None if info is None else self._namespace(info)

    def _namespace(self, info: NamespaceInfo) -> NamespaceInfo:
        r = self.redactor

        def name(kind: str, text: str | None) -> str | None:
            return r.pseudonym(kind, text) if text else text

        def container(c: ContainerInfo | None) -> ContainerInfo | None:
            if c is None:
                return None
            return dataclasses.replace(
                c,
                id=r.pseudonym("container-id", c.id),
                name=name("container", c.name),
                pod=name("pod", c.pod),
            )

        def reason(info: NamespaceInfo) -> str | None:
            # An error's text may name the namespace's file (/run/netns/NAME) or its user.
            text = info.reason
            if not text:
                return text
            if info.name:  # (named escaped, as errors name a file: core.netns.setns)
                pseudonym = r.pseudonym("netns", info.name)
                for shown in dict.fromkeys((info.name, printable(info.name))):
                    text = text.replace(shown, pseudonym)
            return r.text(text)

        return dataclasses.replace(
            info, name=name("netns", info.name), container=container(info.container),
            reason=reason(info),
        )  # fmt: skip

    def ipsec(self, view: IpsecView) -> IpsecView:
        """Addresses and identities out of the SA lists (counters are not identifying)."""
        return dataclasses.replace(view, providers=tuple(self._provider(p) for p in view.providers))

    def _provider(self, pv: ProviderView) -> ProviderView:
        return dataclasses.replace(
            pv,
            sas=tuple(self._ike(s) for s in pv.sas),
            error=self.redactor.text(pv.error) if pv.error else pv.error,
        )

    def _ike(self, sa: IkeSa) -> IkeSa:
        r = self.redactor

        def opt(value: str | None, f: Any) -> str | None:
            return f(value) if value else value

        return dataclasses.replace(
            sa,
            local_host=opt(sa.local_host, r.address),
            remote_host=opt(sa.remote_host, r.address),
            local_id=opt(sa.local_id, r.host),
            remote_id=opt(sa.remote_id, r.host),
            children=tuple(self._child(c) for c in sa.children),
        )

    def _child(self, child: ChildSa) -> ChildSa:
        r = self.redactor
        return dataclasses.replace(
            child,
            local_ts=tuple(r.network(t) for t in child.local_ts),
            remote_ts=tuple(r.network(t) for t in child.remote_ts),
        )

    def snapshot(self, snap: Snapshot) -> Snapshot:
        """``snap`` with every address, host and user name pseudonymised."""
        self.learn(snap.processes.values())
        conns = {c.instance_id: c for c in map(self.connection, snap.connections.values())}
        old = snap.connections
        infos: dict[str, TcpInfo] = {
            self.key(k, old): v for k, v in snap.tcp_info.items() if k in old
        }
        diff = ConnectionDiff(
            frozenset(self.key(k, old) for k in snap.diff.added),
            frozenset(self.key(k, old) for k in snap.diff.removed),
            tuple(
                StateChange(self.key(c.instance_id, old), c.old, c.new)
                for c in snap.diff.state_changed
            ),
            frozenset(self.key(k, old) for k in snap.diff.changed),
        )
        ghosts = tuple(
            Ghost(self.connection(g.connection), g.closed_at, self.namespace(g.namespace))
            for g in snap.ghosts
        )
        error = snap.error
        if error is not None:
            error = dataclasses.replace(error, message=self.redactor.text(error.message))
        return dataclasses.replace(
            snap,
            connections=conns,
            tcp_info=infos,
            processes={pid: self.process(p) for pid, p in snap.processes.items()},
            diff=diff,
            ghosts=ghosts,
            error=error,
            link_down=None if snap.link_down is None else self.redactor.text(snap.link_down),
            ipsec=self.ipsec(snap.ipsec) if snap.ipsec is not None else None,
            namespaces=self.namespaces(snap.namespaces) if snap.namespaces is not None else None,
        )


def redact_snapshot(snap: Snapshot, redactor: Redactor) -> Snapshot:
    """Pure form: ``snap`` redacted with ``redactor``'s pseudonyms."""
    return SnapshotRedactor(redactor).snapshot(snap)


class RedactingFeed(PassedControls):
    """Wraps any Feed so every snapshot comes out redacted; other members pass through.

    Seekable members (``seek``, ``position``...) are forwarded by attribute lookup, so the
    wrapper is :class:`core.sampling.feed.Seekable` exactly when the wrapped feed is.
    """

    def __init__(self, feed: Any, redactor: Redactor | None = None) -> None:
        """Wrap ``feed`` (a :class:`core.sampling.feed.Feed`)."""
        super().__init__(feed)
        self.feed = feed
        self.redactor = SnapshotRedactor(redactor)

    @property
    def live(self) -> bool:
        """As the wrapped feed."""
        return bool(self.feed.live)

    @property
    def source_name(self) -> str:
        """The wrapped feed's name, marked as redacted."""
        return f"{self.feed.source_name} (redacted)"

    async def stream(self) -> AsyncIterator[Snapshot]:
        """The wrapped stream, redacted."""
        async for snap in self.feed.stream():
            yield self.redactor.snapshot(snap)

    def current(self) -> Snapshot:
        """The wrapped replay's current sample, redacted (only a Seekable feed has one)."""
        return self.redactor.snapshot(self.feed.current())

    async def ipsec_stream(self) -> AsyncIterator[IpsecView]:
        """The wrapped feed's IPsec views, redacted (nothing when it has no such stream)."""
        if isinstance(self.feed, StreamsIpsec):
            async for view in self.feed.ipsec_stream():
                yield self.redactor.ipsec(view)

    async def aclose(self) -> None:
        """Forwarded."""
        await self.feed.aclose()

    def watch_tcp_info(self, instance_ids: Collection[str]) -> None:
        """Forwarded with the InstanceIDs the wrapped feed knows (see WatchesTcpInfo)."""
        if isinstance(self.feed, WatchesTcpInfo):
            originals = (self.redactor.original(i) for i in instance_ids)
            self.feed.watch_tcp_info([i for i in originals if i is not None])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("feed", "redactor"):
            raise AttributeError(name)
        return getattr(self.feed, name)
