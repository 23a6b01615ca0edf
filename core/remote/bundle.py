"""The agent as a zipapp built at run time from this tcpscope's own modules, and its loader.

Why built at run time: the agent is exactly the code of the client that talks to it (no
version skew, nothing to publish or install), and its SHA-256 identifies it. The zip holds
every ``core`` module except the few in :data:`EXCLUDED` (they need a third-party package at
import time, or are never used remotely), plus the pure-Python ``vici`` package when the
client has it (strongSwan counters over VICI). It is deterministic: same bytes, same hash.

How it starts on the server (nothing is written there): the SSH command is ``python3 -I -c``
with :data:`STAGE1`, a one-line loader. ``python3 -`` itself cannot serve: it reads its
program until the end of stdin, and stdin must stay open to carry commands and to tell the
agent when the session is gone. The loader's second stage checks the Python version (its
version check is written so that even Python 2 can run it and say "too old"), reads the
header line ``tcpscope-agent PROTOCOL VERSION SHA256 LENGTH`` and the zip from stdin, checks
the hash, imports the modules straight from the zip held in memory, answers
``tcpscope-agent ok X.Y.Z`` and runs :func:`core.commands.agent.main`. Before reading the zip
it says ``tcpscope-agent reading``: from then on a slow start is the link carrying the agent,
not a server or login shell that never ran the loader (the client allows the two different
times and says which one it was). While it reads, ``tcpscope-agent got BYTES`` every second
something arrived (the first bytes at once) tells the client the link still carries it
(silence: the link is dead).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.util
import io
import shlex
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from core.recording.format import tcpscope_version
from core.remote.wire import PROTOCOL

MIN_PYTHON: Final = (3, 11)
"""The oldest server Python the agent runs on (Debian 12's 3.11 is tested)."""
EXCLUDED: Final = (
    "core/connections/sources/psutil_source.py",
    "core/connections/report/",
    "core/metrics/",
    "core/commands/metrics.py",
)
"""Never used by the agent, and each imports a third-party package at module level."""
STATUS_PREFIX: Final = "tcpscope-agent"
READING: Final = "reading"
"""The loader's first status word: it runs and reads the agent from stdin."""
SHELL_RAN: Final = "run"
"""The word the login shell itself echoes (``tcpscope-agent run``) before it execs the
interpreter: without it the shell never ran the command (a nologin or false account shell,
whose status 1 blamed a python3 that never ran)."""
RECEIVED: Final = "got"
"""The loader's progress word (``tcpscope-agent got BYTES``), at most every
:data:`PROGRESS_EVERY_S` while bytes of the agent arrive: how the client tells a slow link
that still carries the agent from a dead one (ssh takes the whole agent from its stdin pipe
at once, whatever the link, so the pipe cannot tell)."""
PROGRESS_EVERY_S: Final = 1.0
_ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)

_STAGE2: Final = """\
import sys
v = sys.version_info
if v < (@MAJOR@, @MINOR@):
    sys.stdout.write("tcpscope-agent too-old %d.%d.%d\\n" % tuple(v[:3]))
    sys.stdout.flush()
    sys.exit(3)
import hashlib, importlib.abc, importlib.util, io, time, zipfile
sys.stdout.write("tcpscope-agent reading\\n")
sys.stdout.flush()
inp = sys.stdin.buffer
head = inp.readline().split()
if len(head) != 5 or head[0] != b"tcpscope-agent" or head[1] != b"@PROTOCOL@":
    sys.stdout.write("tcpscope-agent bad-header\\n")
    sys.exit(4)
size, parts, got, told = int(head[4]), [], 0, float("-inf")
while got < size:
    part = inp.read1(min(size - got, 65536))
    if not part:
        break
    parts.append(part)
    got += len(part)
    if time.monotonic() - told >= @EVERY@:
        sys.stdout.write("tcpscope-agent got %d\\n" % got)
        sys.stdout.flush()
        told = time.monotonic()
data = b"".join(parts)
sha = hashlib.sha256(data).hexdigest()
if sha.encode() != head[3]:
    sys.stdout.write("tcpscope-agent bad-hash\\n")
    sys.exit(4)
zf = zipfile.ZipFile(io.BytesIO(data))
names = frozenset(zf.namelist())
class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        rel = name.replace(".", "/")
        for file, pkg in ((rel + "/__init__.py", True), (rel + ".py", False)):
            if file in names:
                origin = "<tcpscope-agent>/" + file
                return importlib.util.spec_from_loader(name, self, origin=origin, is_package=pkg)
        return None
    def exec_module(self, module):
        origin = module.__spec__.origin
        module.__file__ = origin
        code = compile(zf.read(origin[len("<tcpscope-agent>/"):]), origin, "exec")
        exec(code, module.__dict__)
sys.meta_path.insert(0, Finder())
sys.stdout.write("tcpscope-agent ok %d.%d.%d\\n" % tuple(v[:3]))
sys.stdout.flush()
import core.commands.agent
core.commands.agent.main(head[2].decode(), sha)
"""
_STAGE2_SOURCE: Final = (
    _STAGE2.replace("@MAJOR@", str(MIN_PYTHON[0]))
    .replace("@MINOR@", str(MIN_PYTHON[1]))
    .replace("@PROTOCOL@", str(PROTOCOL))
    .replace("@EVERY@", str(PROGRESS_EVERY_S))
)

_PACKED: Final = base64.b64encode(zlib.compress(_STAGE2_SOURCE.encode(), 9)).decode()
STAGE1: Final = f'import sys,zlib,base64;exec(zlib.decompress(base64.b64decode("{_PACKED}")))'
"""The ``-c`` program: shell-safe (no quotes but its own double quotes, no ``!``, one line)."""


@dataclass(frozen=True, slots=True)
class Bundle:
    """The zipapp and what identifies it."""

    data: bytes
    sha256: str
    version: str

    def preamble(self) -> bytes:
        """Header line + zip, as the loader reads them from stdin."""
        head = f"{STATUS_PREFIX} {PROTOCOL} {self.version} {self.sha256} {len(self.data)}\n"
        return head.encode("ascii") + self.data


def _sources() -> list[tuple[str, Path]]:
    """(name in the zip, file) for every module the agent may import."""
    core_dir = Path(__file__).resolve().parents[1]
    files = [
        (f"core/{p.relative_to(core_dir).as_posix()}", p)
        for p in core_dir.rglob("*.py")
        if "__pycache__" not in p.parts
    ]
    spec = importlib.util.find_spec("vici")
    if spec is not None and spec.submodule_search_locations:
        vici_dir = Path(next(iter(spec.submodule_search_locations)))
        files += [(f"vici/{p.name}", p) for p in vici_dir.glob("*.py")]
    return sorted((name, p) for name, p in files if not name.startswith(EXCLUDED))


@functools.cache
def build_bundle() -> Bundle:
    """The zipapp of this tcpscope (cached: built once per process, ~0.1 s)."""
    files = {name: path.read_bytes() for name, path in _sources()}
    for name in list(files):  # a namespace package (no __init__.py) gets an empty one:
        package = name.rpartition("/")[0]  # neither zipimport nor the loader knows them
        files.setdefault(f"{package}/__init__.py", b"")
    files["__main__.py"] = b"print('tcpscope agent: started by tcpscope --remote, not by hand')\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name])
    data = buf.getvalue()
    return Bundle(data, hashlib.sha256(data).hexdigest(), tcpscope_version())


def remote_command(python: str = "python3", *, sudo: bool = False) -> str:
    """The command line the server's shell runs (``sudo -n`` first with ``--remote-sudo``),
    after echoing :data:`SHELL_RAN` (``echo``: a builtin of sh, bash, zsh, fish and csh)."""
    argv = [python, "-I", "-c", STAGE1]
    if sudo:
        argv = ["sudo", "-n", "--", *argv]
    ran = f"echo {STATUS_PREFIX} {SHELL_RAN}; "
    return ran + "exec " + " ".join(shlex.quote(a) for a in argv)
