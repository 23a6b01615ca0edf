"""Which network namespace one ``--netns`` word names: what the app shows can be typed back.

Why: the table labels a namespace by its container (``revD-web``, ``podman:559586964fdd``,
``ns/pod/name``), its ``ip netns`` name (escaped as :func:`core.textsafe.printable` shows
it), ``ns:INODE`` or ``ns of pid N``; each of those, typed back, finds it. A PID whose
``ns/net`` link cannot be read (another user's process) is found in the discovery, which
reached it through ``/proc/PID/net/tcp`` as the default run does; what cannot be told at all
is a privilege limit (exit 1), never bad input (exit 2). Digits alone may be a PID, a
namespace inode, a container's id prefix or name, or an ``ip netns`` name; a name may be an
``ip netns`` name and a container's; an id prefix may begin several containers' ids: one
namespace is taken, several are an error naming each candidate the way it can be typed
unambiguously (never a guess, never all of them: ``close`` acts where the word points).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from core.connections.namespaces import ContainerInfo
from core.errors import AccessDenied, UsageError
from core.netns.cgroups import ContainerRef, container_of_pid
from core.netns.discover import NETNS_DIRS, Discovery, FoundNamespace
from core.netns.names import ContainerNamer, runs_as_root
from core.textsafe import is_digits, printable, typed

_NS_GET_NSTYPE: Final = 0xB703
"""ioctl(2) on an nsfs file (``linux/nsfs.h``): the CLONE_NEW* type of its namespace."""
_CLONE_NEWNET: Final = 0x40000000
NOT_NETNS: Final = (
    "is not a network namespace (give an nsfs file such as /run/netns/NAME or /proc/PID/ns/net)"
)
RUNTIMES: Final = ("docker", "podman", "containerd", "cri-o", "kubernetes", "nspawn")
"""The ``RUNTIME:`` of a container label (``podman:559586964fdd``)."""
_DENIED: Final = (errno.EACCES, errno.EPERM)


class NotVisible(AccessDenied):
    """What ``--netns`` names exists, or may, but this user cannot tell which namespace it
    is: a privilege limit, so exit 1 (exit 2 would say the input was wrong)."""

    exit_code = 1


def _shown(text: str) -> str:
    """A typed word quoted for an error line (control characters escaped, as typed)."""
    return f"'{typed(text)}'"


def inode_of_path(path: str, proc: str = "/proc") -> int:
    """The inode of the network namespace at ``path``, which must be one.

    Why checked: any file's inode was taken for a namespace's, so a typo or another kind of
    namespace (``/proc/self/ns/mnt``) read as an empty host, exit 0. Only a file on nsfs is
    opened (tcpscope often runs as root: opening an arbitrary device can act on it), then
    asked its namespace type.

    Raises:
        UsageError: no such file, or not a network namespace.
        NotVisible: the file may not be opened by this user.
    """
    try:
        info = os.stat(path)
        on_nsfs = info.st_dev == os.stat(f"{proc}/self/ns/net").st_dev
    except OSError as err:
        raise _cannot_open(path, err) from None
    if not on_nsfs:
        raise UsageError(f"--netns: {typed(path)} {NOT_NETNS}")
    import fcntl  # POSIX only: this runs where namespaces are (Linux)

    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as err:
        raise _cannot_open(path, err) from None
    try:
        kind = fcntl.ioctl(fd, _NS_GET_NSTYPE)
    except OSError:
        kind = None
    finally:
        os.close(fd)
    if kind != _CLONE_NEWNET:
        raise UsageError(f"--netns: {typed(path)} {NOT_NETNS}")
    return info.st_ino


def _cannot_open(path: str, err: OSError, root: bool | None = None) -> UsageError | NotVisible:
    """Why ``path`` cannot be opened, as the error to raise; ``root``: whether this process
    is root (None: asked).

    Why root is told otherwise: a denial to root is the kernel's, not a missing privilege
    (``/proc/1/ns/mnt`` under Yama's ptrace scope or a security module), and "it needs root"
    sent root nowhere."""
    if err.errno in _DENIED:
        if root if root is not None else runs_as_root():
            why = "denied even to root: ptrace access or a security module such as Yama"
        else:
            why = "it needs root"
        return NotVisible(f"--netns: cannot open {typed(path)}: {err.strerror} ({why})")
    return UsageError(f"--netns: cannot open {typed(path)}: {err.strerror}")


def of_pid(pid: int, found: Discovery, proc: str = "/proc") -> int:
    """The namespace (its key in ``found``) process ``pid`` runs in.

    Raises:
        UsageError: no such process.
        NotVisible: neither its ``ns/net`` nor its ``net/tcp`` can be read (hidepid).
    """
    try:
        return os.stat(f"{proc}/{pid}/ns/net").st_ino
    except FileNotFoundError:
        raise UsageError(f"--netns: no process {pid}") from None
    except OSError as err:
        if err.errno not in _DENIED:
            raise UsageError(f"--netns: process {pid}: {err.strerror}") from None
    # Another user's process: the discovery read it through /proc/PID/net/tcp.
    for ns in found.namespaces.values():
        if pid in ns.pids:
            return ns.inode
    if not os.path.exists(f"{proc}/{pid}"):
        raise UsageError(f"--netns: no process {pid}")
    raise NotVisible(
        f"--netns: the network namespace of process {pid} cannot be told as this user "
        f"(neither /proc/{pid}/ns/net nor /proc/{pid}/net/tcp can be read)"
    )


def of_inode(inode: int, found: Discovery) -> int:
    """``inode`` when a namespace found has it (a stand-in key is no inode: never matched).

    Raises:
        UsageError: no such namespace.
        NotVisible: none here, but some namespaces' inodes cannot be read by this user.
    """
    ns = found.namespaces.get(inode)
    if ns is not None and not ns.surrogate:
        return inode
    _unless_hidden(found, f"no network namespace with inode {inode} among those")
    raise UsageError(f"--netns: no network namespace with inode {inode}")


def _unless_hidden(found: Discovery, nothing: str) -> None:
    """Raise NotVisible if some namespaces' inodes cannot be read (``nothing``: what was
    not found "… this user can identify"): the one asked for may be among them.

    Why no example PID: one of a hidden namespace's may be in another namespace than the
    one meant, and typed it would silently choose that one.
    """
    hidden = sum(1 for n in found.namespaces.values() if n.surrogate)
    if hidden:
        raise NotVisible(
            f"--netns: {nothing} this user can identify; the inodes of {hidden} cannot be "
            "read (another user's processes): give the PID of a process in it"
        )


@dataclass(slots=True)
class _Container:
    """A namespace's container, its name looked up only when a word needs it."""

    inode: int
    ref: ContainerRef
    _info: ContainerInfo | None = field(default=None, repr=False)

    def info(self, namer: ContainerNamer) -> ContainerInfo:
        if self._info is None:
            self._info = namer.name(self.ref)
        return self._info

    @property
    def label(self) -> str:
        """``runtime:id`` as the table shows an unnamed one: unambiguous to type back."""
        return f"{self.ref.runtime}:{self.ref.id[:12]}"


class Matcher:
    """Resolves ``--netns`` words against one discovery (containers looked up once)."""

    def __init__(self, found: Discovery, proc: str = "/proc") -> None:
        """``found``: the namespaces now; ``proc``: the procfs mount."""
        self.found = found
        self._proc = proc
        self._namer = ContainerNamer(proc)
        self._containers: list[_Container] | None = None

    def containers(self) -> list[_Container]:
        """Every namespace's container (by the cgroup of one of its first processes)."""
        if self._containers is None:
            boxes: list[_Container] = []
            for ns in self.found.namespaces.values():
                ref = next(filter(None, map(self._ref, ns.pids[:8])), None)
                if ref is not None:
                    boxes.append(_Container(ns.inode, ref))
            self._containers = sorted(boxes, key=lambda b: (b.ref.runtime, b.ref.id))
        return self._containers

    def _ref(self, pid: int) -> ContainerRef | None:
        return container_of_pid(pid, self._proc)

    def choose(self, word: str) -> set[int]:
        """The namespaces (keys of the discovery) ``word`` names.

        Raises:
            UsageError: it names none, or digits that name several.
            NotVisible: this user cannot tell.
        """
        head, _, rest = word.partition(":")
        if head == "ns" and rest.isdigit():
            return {of_inode(_number(word, rest), self.found)}
        pid = _pid_word(word)
        if pid is not None:
            return {of_pid(pid, self.found, self._proc)}
        if is_digits(word):
            return self._digits(word)
        if word.isdigit():  # other digits (``²``, ``٤``): no number, but may be a name
            try:
                return self._by_name(word)
            except UsageError:
                raise UsageError(
                    f"--netns: {_shown(word)} is not a whole number (digits 0-9) nor a "
                    "network namespace or container name"
                ) from None
        if head in RUNTIMES and rest:
            hits = self._by_label(head, rest)
            if hits is not None:
                return hits
        if word.startswith(("/", "./", "../")) or ("/" in word and os.path.lexists(word)):
            return {self._by_path(word)}
        return self._by_name(word)

    def exact(self, text: str) -> set[int] | None:
        """What ``text``, whole, names as an existing path or ``ip netns`` name (None: it
        names none).

        Why: ``--netns`` is split at commas, and a name may hold one (``ip netns add
        'web-a,b'`` was looked up as ``web-a`` and ``b``): the one that exists is meant.

        Raises:
            UsageError: it names several (an ``ip netns`` and a container share it).
            NotVisible: this user cannot tell which it is.
        """
        if "/" in text and os.path.lexists(text):
            return {self._by_path(text)}
        shown = typed(text)
        names = (n for ns in self.found.namespaces.values() for n in ns.netns_names)
        if _netns_files(text) or any(printable(n) == shown for n in names):
            return self._by_name(text)
        return None

    def _by_path(self, path: str) -> int:
        head, pid, tail = path[:6], path[6:].partition("/")[0], path[6:].partition("/")[2]
        if head == "/proc/" and is_digits(pid) and tail == "ns/net":
            try:  # another user's: read as the default run reads it, through net/tcp
                return inode_of_path(path, self._proc)
            except NotVisible:
                return of_pid(int(pid), self.found, self._proc)
        return inode_of_path(path, self._proc)

    def _by_label(self, runtime: str, rest: str) -> set[int] | None:
        """The container the label ``RUNTIME:ID`` (an id prefix) or ``RUNTIME:NAME`` names
        (None: none does, a name or path may).

        Raises:
            UsageError: it names several (an id prefix of two containers, ``podman:2``).
        """
        found = _Candidates()
        for box in self.containers():
            if box.ref.runtime == runtime and box.ref.id.startswith(rest):
                found.add(self._label(box), box.inode)
        for box in self._named(rest):
            if box.ref.runtime == runtime:
                found.add(self._label(box), box.inode)
        return found.one(f"{runtime}:{rest}")

    def _label(self, box: _Container) -> str:
        """``RUNTIME:ID`` of ``box``, its id cut at 12 unless another's begins alike."""
        cut, cid = 12, box.ref.id
        same = [
            b.ref.id for b in self.containers() if b is not box and b.ref.runtime == box.ref.runtime
        ]
        while cut < len(cid) and any(other.startswith(cid[:cut]) for other in same):
            cut += 1
        return f"{box.ref.runtime}:{cid[:cut]}"

    def _named(self, word: str) -> Iterator[_Container]:
        """Containers whose name, pod or label (as the table shows it) is ``word``."""
        shown = typed(word)
        for box in self.containers():
            info = box.info(self._namer)
            names = [info.name, info.pod]
            if info.pod and info.name:
                names.append(f"{info.pod}/{info.name}")
            if any(n is not None and (n == word or printable(n) == shown) for n in names):
                yield box

    def _digits(self, word: str) -> set[int]:
        """A PID, a namespace inode, a container id prefix or name, an ``ip netns`` name: one
        namespace, else an error listing how to type each candidate."""
        number = int(word)
        found = _Candidates()
        if len(word) <= 10 and os.path.exists(f"{self._proc}/{number}"):
            try:
                found.add(f"pid:{number}", of_pid(number, self.found, self._proc))
            except (UsageError, NotVisible) as err:
                found.refuse(err)
        ns = self.found.namespaces.get(number)
        if ns is not None and not ns.surrogate:
            found.add(f"ns:{number}", number)
        self._names_into(found, word)
        hits = found.settled(word)
        if hits is not None:
            return hits
        _unless_hidden(self.found, f"{word} is no process, network namespace inode or container id")
        raise UsageError(
            f"--netns: {word} is no process, network namespace inode or container id here"
        )

    def _names_into(self, found: _Candidates, word: str) -> None:
        """Add what ``word`` names as an ``ip netns`` name (its file, or the name as the table
        shows it), a container's id prefix, or a container's name or pod."""
        for path in _netns_files(word):  # ``ip netns add 999999``: typed back by its path
            try:
                found.add(path, inode_of_path(path, self._proc))
            except (UsageError, NotVisible) as err:
                found.refuse(err)
        shown = typed(word)
        for ns in self.found.namespaces.values():
            if any(printable(n) == shown for n in ns.netns_names):
                found.add(_ns_form(ns), ns.inode)
        for box in self.containers():
            if box.ref.id.startswith(word):
                found.add(self._label(box), box.inode)
        for box in self._named(word):
            found.add(self._label(box), box.inode)

    def _by_name(self, word: str) -> set[int]:
        """What ``word`` names as a name or id prefix: one namespace, else the candidates.

        Why every kind is asked: an ``ip netns`` and a container may share a name (the table
        labels them apart, see :func:`core.connections.namespaces.label`); the file was taken
        first, silently, and ``close`` acted in it.
        """
        found = _Candidates()
        self._names_into(found, word)
        hits = found.settled(word)
        if hits is not None:
            return hits
        unnamed = [b for b in self.containers() if b.info(self._namer).name is None]
        if unnamed and not runs_as_root():
            labels = ", ".join(b.label for b in unnamed[:3]) + (", …" if len(unnamed) > 3 else "")
            raise NotVisible(
                f"--netns: no network namespace or container named {_shown(word)} that this "
                f"user can see: {len(unnamed)} container(s) ({labels}) have no name readable "
                "without root (their runtime's files); give the id the table shows"
            )
        raise UsageError(f"--netns: no network namespace or container named {_shown(word)}")


class _Candidates:
    """The namespaces one word may name, each with a form that names only it."""

    def __init__(self) -> None:
        self.forms: dict[int, str] = {}
        """Namespace key: the first form found for it (``pid:N``, ``podman:ID``, a path)."""
        self.refused: UsageError | NotVisible | None = None
        """Why a possible candidate could not be told (raised only when none was)."""

    def add(self, form: str, key: int) -> None:
        self.forms.setdefault(key, form)

    def refuse(self, err: UsageError | NotVisible) -> None:
        self.refused = self.refused or err

    def one(self, word: str) -> set[int] | None:
        """The one namespace found (None: none).

        Raises:
            UsageError: several: it lists each by its form (never a guess: ``close`` acts).
        """
        if len(self.forms) > 1:
            raise UsageError(
                f"--netns: {typed(word)} could be any of {', '.join(self.forms.values())}: "
                "give one of those"
            )
        return set(self.forms) or None

    def settled(self, word: str) -> set[int] | None:
        """:meth:`one`, else the refusal met on the way (a candidate that could not be told),
        else None: nothing found.

        Raises:
            UsageError: several candidates, or the refusal.
            NotVisible: the refusal.
        """
        hits = self.one(word)
        if hits is None and self.refused is not None:
            raise self.refused
        return hits


def _ns_form(ns: FoundNamespace) -> str:
    """How a namespace is typed by its number: ``ns:INODE`` (``pid:N`` for a stand-in)."""
    if ns.surrogate and ns.pids:
        return f"pid:{ns.pids[0]}"
    return f"ns:{ns.inode}"


def _netns_files(name: str) -> list[str]:
    """The ``ip netns`` file(s) named ``name``, once each (``/var/run`` is often ``/run``)."""
    paths: dict[str, str] = {}
    for directory in NETNS_DIRS:
        path = f"{directory}/{name}"
        if os.path.lexists(path):
            paths.setdefault(os.path.realpath(path), path)
    return list(paths.values())


def _pid_word(word: str) -> int | None:
    """The PID of ``pid:N`` or of the label ``ns of pid N``, else None.

    Raises:
        UsageError: N is digits, but not ASCII ones (``pid:²``, ``pid:٤``).
    """
    for prefix in ("pid:", "ns of pid "):
        if word.startswith(prefix) and word[len(prefix) :].isdigit():
            return _number(word, word[len(prefix) :])
    return None


def _number(word: str, digits: str) -> int:
    """``digits`` (of the word ``word``) as a number: ASCII digits only. ``str.isdigit()``
    also takes ``²`` (``int()`` raised: a traceback) and ``٤`` (read as 4: PID 4's
    namespace, silently).

    Raises:
        UsageError: not ASCII digits.
    """
    if not is_digits(digits):
        raise UsageError(
            f"--netns: {_shown(word)}: {_shown(digits)} is not a whole number (digits 0-9)"
        )
    return int(digits)


class Chosen:
    """The chooser of inodes ``--netns`` words resolved to, fixed when the run starts.

    Why it follows stand-ins: a namespace known only through another user's process is keyed
    by a stand-in until a netns id ties it to its nsfs file; then its key becomes the file's
    inode, and it is still the namespace that was chosen (found again by its processes).
    """

    def __init__(self, keys: set[int], found: Discovery) -> None:
        """``keys``: namespaces of ``found`` chosen."""
        self._keys = frozenset(keys)
        self._follow = {
            k: frozenset(ns.pids)
            for k in keys
            if (ns := found.namespaces.get(k)) is not None and ns.surrogate
        }

    def __call__(self, found: Discovery) -> set[int]:
        """The chosen namespaces' keys in ``found``."""
        keys = set(self._keys)
        for key, pids in self._follow.items():
            if key not in found.namespaces:
                keys |= {ns.inode for ns in found.namespaces.values() if _shares(ns, pids)}
        return keys


def _shares(ns: FoundNamespace, pids: frozenset[int]) -> bool:
    return not pids.isdisjoint(ns.pids)
