"""A throwaway SSH server in a network namespace, for ``tcpscope --remote`` tests and the bench.

Why this shape: the remote feature must be tested against a real ``sshd`` (Debian's
openssh-server) reached over a real network path, on a server where tcpscope is not
installed. So: a netns with a veth pair to the test's namespace, a throwaway host key and
user key, an ``sshd`` on its own port, run in a private mount namespace where the tcpscope
checkout, the test's venv and any pyenv tree are hidden under empty tmpfs mounts — the server
side sees the system ``/usr/bin/python3`` and nothing of tcpscope or psutil. The client side
uses ``TCPSCOPE_SSH`` with its own known_hosts (strict host key checking stays on).

Usage: ``with SshLab() as lab:`` then ``lab.env`` (for the client) and ``lab.target``.
``SshLab(private_home=True)``: root's home on the server is ``lab.home``, an empty directory
of the lab's (bind-mounted over ``/root`` in sshd's mount namespace only), so a test can give
the login shell startup files (``.bashrc``) without touching this machine's.
``SshLab(banner=TEXT)``: sshd shows TEXT before login (ssh prints it on stderr).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Final

SSHD: Final = "/usr/sbin/sshd"
TC: Final = shutil.which("tc") or "/usr/sbin/tc"
"""iproute2's tc, found like sshd outside a narrow PATH (the README's env -i run has no
/usr/sbin in it)."""
NFT: Final = shutil.which("nft") or "/usr/sbin/nft"
SERVER_PYTHON: Final = "/usr/bin/python3"
REPO: Final = Path(__file__).resolve().parents[2]

_SSHD_CONFIG: Final = """\
Port {port}
ListenAddress {address}
HostKey {dir}/host_key
AuthorizedKeysFile {dir}/authorized_keys
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
PidFile none
LogLevel VERBOSE
"""


def have_ssh_lab() -> str | None:
    """None when the lab can run here, else why not (for ``pytest.skip``)."""
    if sys.platform != "linux":
        return "the SSH lab needs Linux"
    if os.geteuid() != 0:
        return "the SSH lab needs root (network and mount namespaces)"
    if not os.access(SSHD, os.X_OK):
        return f"openssh-server not installed ({SSHD})"
    if not os.access(SERVER_PYTHON, os.X_OK):
        return f"no system python at {SERVER_PYTHON}"
    for tool in ("ip", "unshare", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} not found"
    return None


def _run(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {proc.stderr.strip()}")


def _hidden_dirs() -> list[Path]:
    """What the server must not see: this checkout, the test's venv, pyenv's interpreters."""
    out = [REPO, Path(sys.prefix)]
    # pyenv where the test's environment says, and where root's own login finds it: the
    # server logs in as root, whose profile may put ~root/.pyenv first on PATH even when the
    # tests run with another HOME (the README's command under ``env -i HOME=…``).
    out.append(Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")))
    out.append(Path(pwd.getpwnam("root").pw_dir) / ".pyenv")
    dirs = [p.resolve() for p in out if p.is_dir() and p != Path("/")]
    # A directory inside another one is hidden with it (the README's `.venv` in the checkout):
    # once the outer tmpfs is mounted, the inner path no longer exists to mount on.
    return [p for p in dirs if not any(o != p and p.is_relative_to(o) for o in dirs)]


def _free_net() -> int:
    """N of a 10.217.N.0/30 no interface here has (two labs on one subnet, in one test run
    or two, would each reach the other's sshd)."""
    taken = subprocess.run(
        ["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, check=False
    ).stdout
    free = [n for n in range(1, 251) if f" 10.217.{n}." not in taken]
    return free[secrets.randbelow(len(free))] if free else secrets.randbelow(250) + 1


class SshLab:
    """sshd in its own netns (``start``/``kill`` it at will); the client side's ssh settings."""

    def __init__(
        self, *, private_home: bool = False, banner: str | None = None, shell: str | None = None
    ) -> None:
        self.suffix = secrets.token_hex(3)
        self.netns = f"tsr{self.suffix}"
        self.veth_out, self.veth_in = f"tsro{self.suffix}", f"tsri{self.suffix}"
        net = _free_net()
        self.client_address, self.address = f"10.217.{net}.1", f"10.217.{net}.2"
        self.port = 20000 + secrets.randbelow(20000)
        self.dir = Path(tempfile.mkdtemp(prefix=f"tcpscope-ssh-{self.suffix}-"))
        self.banner = banner
        """sshd's pre-login banner (ssh prints it on stderr), if any."""
        self.home = self.dir / "home" if private_home else None
        """Root's home as the server's login shell sees it (None: this machine's)."""
        self.shell = shell
        """Root's login shell as sshd sees it (None: this machine's): its /etc/passwd is a
        copy bind-mounted in sshd's own mount namespace, never this machine's file."""
        self._sshd: subprocess.Popen[bytes] | None = None

    # --- what the client uses -----------------------------------------------------------
    @property
    def target(self) -> str:
        """The ``--remote`` argument."""
        return f"root@{self.address}:{self.port}"

    @property
    def ssh_command(self) -> str:
        """``TCPSCOPE_SSH``: this lab's keys and known_hosts, nothing from ~/.ssh."""
        opts = [
            "ssh",
            "-F",
            "/dev/null",
            "-i",
            str(self.dir / "user_key"),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "IdentityAgent=none",
            "-o",
            f"UserKnownHostsFile={self.dir / 'known_hosts'}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "ConnectTimeout=5",
        ]
        return shlex.join(opts)

    @property
    def env(self) -> dict[str, str]:
        """The client's environment."""
        return {**os.environ, "TCPSCOPE_SSH": self.ssh_command}

    # --- life cycle -----------------------------------------------------------------------
    def __enter__(self) -> SshLab:
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()

    def up(self) -> None:
        """Keys, namespace, veth pair, sshd."""
        for name in ("host_key", "user_key"):
            _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.dir / name)])
        shutil.copy(self.dir / "user_key.pub", self.dir / "authorized_keys")
        host_pub = (self.dir / "host_key.pub").read_text().split()[:2]
        (self.dir / "known_hosts").write_text(
            f"[{self.address}]:{self.port} {' '.join(host_pub)}\n"
        )
        config = _SSHD_CONFIG.format(port=self.port, address=self.address, dir=self.dir)
        if self.banner is not None:
            (self.dir / "banner").write_text(self.banner + "\n")
            config += f"Banner {self.dir}/banner\n"
        (self.dir / "sshd_config").write_text(config)
        _run(["ip", "netns", "add", self.netns])
        _run(
            [
                *("ip", "link", "add", self.veth_out, "type", "veth"),
                "peer",
                "name",
                self.veth_in,
                "netns",
                self.netns,
            ]
        )
        _run(["ip", "addr", "add", f"{self.client_address}/30", "dev", self.veth_out])
        _run(["ip", "link", "set", self.veth_out, "up"])
        self.ns("ip", "link", "set", "lo", "up")
        self.ns("ip", "addr", "add", f"{self.address}/30", "dev", self.veth_in)
        self.ns("ip", "link", "set", self.veth_in, "up")
        self.start_sshd()

    def ns(self, *argv: str) -> None:
        """Run a command in the server's namespace."""
        _run(["ip", "netns", "exec", self.netns, *argv])

    def start_sshd(self, timeout_s: float = 10.0) -> None:
        """Start sshd (hiding tcpscope, the venv and pyenv); wait until it accepts."""
        mounts = " && ".join(
            f"mount -t tmpfs tmpfs {shlex.quote(str(d))}" for d in [*_hidden_dirs(), "/run"]
        )
        if self.home is not None:
            self.home.mkdir(mode=0o700, exist_ok=True)
            home = pwd.getpwnam("root").pw_dir
            mounts += f" && mount --bind {shlex.quote(str(self.home))} {shlex.quote(home)}"
        if self.shell is not None:
            lines = Path("/etc/passwd").read_text().splitlines()
            passwd = self.dir / "passwd"
            passwd.write_text(
                "".join(
                    (f"{ln.rpartition(':')[0]}:{self.shell}" if ln.startswith("root:") else ln)
                    + "\n"
                    for ln in lines
                )
            )
            mounts += f" && mount --bind {shlex.quote(str(passwd))} /etc/passwd"
        script = f"{mounts} && mkdir -p /run/sshd && exec {SSHD} -D -e -f {self.dir}/sshd_config"
        log = open(self.dir / "sshd.log", "ab")  # noqa: SIM115 (kept by the child)
        self._sshd = subprocess.Popen(
            [
                *("ip", "netns", "exec", self.netns, "unshare", "-m", "--propagation", "private"),
                *("sh", "-c", script),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._sshd.poll() is not None:
                raise RuntimeError(f"sshd exited: {self.log_text()[-500:]}")
            if "Server listening" in self.log_text():
                return
            time.sleep(0.05)
        raise RuntimeError(f"sshd did not listen in {timeout_s} s")

    def limit_upload(self, kbit: int | None) -> None:
        """Make the link to the server a slow one (a token bucket on the client side's veth,
        so what the client sends crawls: the agent's bundle above all); None: full speed."""
        if kbit is None:
            subprocess.run(
                [TC, "qdisc", "del", "dev", self.veth_out, "root"],
                capture_output=True,
                check=False,
            )
            return
        _run(
            [
                *(TC, "qdisc", "replace", "dev", self.veth_out, "root", "tbf"),
                *("rate", f"{kbit}kbit", "burst", "16kb", "latency", "2s"),
            ]
        )

    def stall(self, on: bool) -> None:
        """Make the server's namespace drop every packet it receives (a link that went dead
        without a word: nothing reaches sshd, nothing is refused); ``False``: let them in."""
        if on:
            self.ns(NFT, "add", "table", "inet", "tsrstall")
            self.ns(
                NFT,
                "add chain inet tsrstall input { type filter hook input priority 0; policy drop; }",
            )
        else:
            subprocess.run(
                ["ip", "netns", "exec", self.netns, NFT, "delete", "table", "inet", "tsrstall"],
                capture_output=True,
                check=False,
            )

    def log_text(self) -> str:
        """sshd's log so far."""
        return (self.dir / "sshd.log").read_text(errors="replace")

    def client_pids(self) -> list[int]:
        """This lab's ssh clients running here (the ones given its user key)."""
        key = f"{self.dir}/user_key".encode()
        found = []
        for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
            with contextlib.suppress(OSError):
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if os.path.basename(argv[0]) == b"ssh" and key in argv:
                    found.append(int(pid))
        return found

    def ns_pids(self) -> list[int]:
        """Every process in the server's network namespace."""
        proc = subprocess.run(
            ["ip", "netns", "pids", self.netns], capture_output=True, text=True, check=False
        )
        return [int(p) for p in proc.stdout.split()]

    def agent_pids(self) -> list[int]:
        """Agents (python processes) still running in the server's namespace."""
        out = []
        for pid in self.ns_pids():
            with contextlib.suppress(OSError):
                if b"base64.b64decode" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    out.append(pid)
        return out

    def kill_sshd(self) -> None:
        """SIGKILL every sshd of the lab (listener and sessions): the link drops."""
        for pid in self.ns_pids():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/comm").read_text().strip() in ("sshd", "sshd-session"):
                    os.kill(pid, signal.SIGKILL)
        if self._sshd is not None:
            self._sshd.wait(10)
            self._sshd = None

    def down(self) -> None:
        """Kill everything in the namespace (all started by this lab), delete it; never raises."""
        with contextlib.suppress(Exception):
            self.kill_sshd()
        with contextlib.suppress(Exception):
            for pid in self.ns_pids():
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", self.veth_out], capture_output=True, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def listen_in_namespace(netns: str) -> tuple[subprocess.Popen[str], int]:
    """A listener on 127.0.0.1 that exists only in ``netns``: (process, port)."""
    code = (
        "import socket,sys;s=socket.socket();s.bind(('127.0.0.1',0));s.listen();"
        "print(s.getsockname()[1],flush=True);sys.stdin.read()"
    )
    proc = subprocess.Popen(
        ["ip", "netns", "exec", netns, SERVER_PYTHON, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())
