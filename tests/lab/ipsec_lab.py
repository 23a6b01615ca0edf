"""A throwaway strongSwan lab: two network namespaces, one charon each, a PSK tunnel.

Why: the IPsec counters must be tested against a real IKE daemon, and this machine's kernel has
no ESP, so each charon runs with ``kernel-libipsec`` (userspace ESP over TUN, tunnel mode only)
in its own netns and mount namespace (private tmpfs on /run, own strongswan.conf and VICI
socket). Names carry a random suffix so parallel runs do not clash; addresses exist only inside
the namespaces (outer 10.99.N.0/24 on a veth pair, inner /32s on ``lo``). Everything is torn
down by PID and by name, also when set-up fails half way.

Usage: ``python -m tests.lab.ipsec_lab up|down [ID]`` or ``status`` (as root), or
``with IpsecLab() as lab:``. ``down`` removes only the lab of that ID (default
:data:`DEFAULT_ID`, the one a bare ``up`` starts): other people's labs and running tests stay.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Final

CHARON: Final = "/usr/lib/ipsec/charon"
SWANCTL: Final = "swanctl"
STATE_DIR: Final = Path("/tmp/tcpscope-ipsec-lab")
SIDES: Final = ("a", "b")
DEFAULT_ID: Final = "lab"
"""The lab a bare ``up`` starts and a bare ``down`` removes."""
_ID: Final = re.compile(r"[a-z0-9]{1,11}")
"""An ID is part of interface names (``tsla<ID>``: at most 15 characters)."""

_STRONGSWAN_CONF: Final = """\
charon {{
  install_routes = yes
  install_virtual_ip = no
  retransmit_tries = 2
  retransmit_timeout = 1.0
  retransmit_base = 1.4
  filelog {{
    lab {{
      path = {dir}/charon.log
      time_format = %T
      default = 1
      ike = 2
      append = yes
    }}
  }}
  syslog {{
    daemon {{
      default = -1
    }}
  }}
  plugins {{
    include /etc/strongswan.d/charon/*.conf
    kernel-libipsec {{
      load = yes
    }}
    vici {{
      socket = unix://{dir}/charon.vici
    }}
    stroke {{
      load = no
    }}
  }}
}}
swanctl {{
  socket = unix://{dir}/charon.vici
}}
"""


def have_lab_tools() -> str | None:
    """None when the lab can run here, else why not (for ``pytest.skip``)."""
    if sys.platform != "linux":
        return "the strongSwan lab needs Linux"
    if os.geteuid() != 0:
        return "the strongSwan lab needs root (network namespaces)"
    if not os.access(CHARON, os.X_OK):
        return f"strongSwan charon not installed ({CHARON})"
    for tool in ("ip", "unshare", SWANCTL):
        if shutil.which(tool) is None:
            return f"{tool} not found"
    return None


def run(
    argv: list[str],
    *,
    check: bool = True,
    timeout: float = 20.0,
) -> subprocess.CompletedProcess[str]:
    """Run a command (argv list, never a shell string) and capture its output."""
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        # swanctl prints one "plugin ... failed to load" line per absent optional plugin
        noise = [
            ln
            for ln in (proc.stderr + proc.stdout).splitlines()
            if ln.strip() and not ln.startswith("plugin '")
        ]
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {' | '.join(noise[-5:])}")
    return proc


@dataclass
class Side:
    """One end of the lab: a netns with one charon."""

    name: str
    netns: str
    veth: str
    outer: str
    """Outer (IKE) address on the veth."""
    inner: str
    """Inner tunnel address (/32 on lo) of the IKEv2 child."""
    inner_v1: str
    """Inner address of the IKEv1 child."""
    workdir: Path
    pid: int | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def vici(self) -> str:
        """Path of this charon's VICI socket."""
        return str(self.workdir / "charon.vici")

    @property
    def conf(self) -> Path:
        """This charon's strongswan.conf (also used by swanctl)."""
        return self.workdir / "strongswan.conf"


class IpsecLab:
    """The lab as a context manager: ``up()`` on enter, ``down()`` on exit."""

    def __init__(self, suffix: str | None = None, subnet: int | None = None) -> None:
        self.suffix = suffix or secrets.token_hex(3)
        self.subnet = subnet if subnet is not None else secrets.randbelow(200) + 20
        self.root = Path(tempfile.mkdtemp(prefix=f"tcpscope-lab-{self.suffix}-"))
        n = self.subnet
        self.psk = secrets.token_hex(16)
        self.sides: dict[str, Side] = {}
        for idx, side in enumerate(SIDES, start=1):
            wd = self.root / side
            wd.mkdir()
            self.sides[side] = Side(
                name=side,
                netns=f"tsl{side}{self.suffix}",
                veth=f"tsl{side}{self.suffix}",
                outer=f"10.99.{n}.{idx}",
                inner=f"10.98.{n}.{idx}",
                inner_v1=f"10.98.{n}.{10 + idx}",
                workdir=wd,
            )

    # ----------------------------------------------------------------- life cycle
    def __enter__(self) -> IpsecLab:
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

    @property
    def a(self) -> Side:
        """The initiator side."""
        return self.sides["a"]

    @property
    def b(self) -> Side:
        """The responder side."""
        return self.sides["b"]

    def up(self) -> None:
        """Create the namespaces, start both daemons and load the connections."""
        a, b = self.a, self.b
        for s in (a, b):
            run(["ip", "netns", "add", s.netns])
        run(
            [
                "ip",
                "link",
                "add",
                a.veth,
                "netns",
                a.netns,
                "type",
                "veth",
                "peer",
                "name",
                b.veth,
                "netns",
                b.netns,
            ]
        )
        for s in (a, b):
            self.ns(s, "ip", "link", "set", "lo", "up")
            self.ns(s, "ip", "link", "set", s.veth, "up")
            self.ns(s, "ip", "addr", "add", f"{s.outer}/24", "dev", s.veth)
            self.ns(s, "ip", "addr", "add", f"{s.inner}/32", "dev", "lo")
            self.ns(s, "ip", "addr", "add", f"{s.inner_v1}/32", "dev", "lo")
            s.conf.write_text(_STRONGSWAN_CONF.format(dir=s.workdir))
            (s.workdir / "swanctl.conf").write_text(self._swanctl_conf(s))
        self._save_state()
        for s in (a, b):
            self.start_daemon(s)
        for s in (a, b):
            self.load(s)
        self._save_state()

    def down(self) -> None:
        """Stop both daemons (by PID) and delete the namespaces and files; never raises."""
        for s in self.sides.values():
            with contextlib.suppress(Exception):
                self.stop_daemon(s)
        for s in self.sides.values():
            with contextlib.suppress(Exception):
                run(["ip", "netns", "del", s.netns], check=False)
        with contextlib.suppress(Exception):
            shutil.rmtree(self.root, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            (STATE_DIR / f"{self.suffix}.json").unlink()

    # ----------------------------------------------------------------- daemons
    def start_daemon(self, s: Side, timeout_s: float = 15.0) -> None:
        """Start charon in the side's netns with a private /run; wait for its VICI socket."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(s.vici)
        log = open(s.workdir / "charon.stdout", "ab")  # noqa: SIM115 (kept by the child)
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "STRONGSWAN_CONF": str(s.conf),
        }
        s.proc = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                s.netns,
                "unshare",
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                f"mount -t tmpfs tmpfs /run && exec {CHARON}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        log.close()
        s.pid = s.proc.pid
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if s.proc.poll() is not None:
                raise RuntimeError(
                    f"charon in {s.netns} exited with {s.proc.returncode}; "
                    f"see {s.workdir / 'charon.log'}"
                )
            if _connectable(s.vici):
                return
            time.sleep(0.05)
        raise RuntimeError(f"charon in {s.netns} did not open {s.vici} in {timeout_s} s")

    def stop_daemon(self, s: Side, sig: int = signal.SIGTERM, timeout_s: float = 10.0) -> None:
        """Stop the side's charon by PID (SIGKILL if it does not exit in time)."""
        if s.pid is None:
            return
        pid, s.pid = s.pid, None
        if s.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            try:
                s.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                s.proc.wait(timeout_s)
            s.proc = None
        elif _is_charon(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            _wait_gone(pid, timeout_s)

    def kill_daemon(self, s: Side) -> None:
        """SIGKILL the side's charon (a crash: the VICI socket file stays behind)."""
        self.stop_daemon(s, signal.SIGKILL)

    # ----------------------------------------------------------------- swanctl
    def ns(
        self,
        s: Side,
        *argv: str,
        check: bool = True,
        timeout: float = 20.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside the side's network namespace."""
        return run(["ip", "netns", "exec", s.netns, *argv], check=check, timeout=timeout)

    def swanctl(
        self,
        s: Side,
        *args: str,
        check: bool = True,
        timeout: float = 30.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run swanctl against the side's charon (its own strongswan.conf and socket)."""
        env_argv = ["env", f"STRONGSWAN_CONF={s.conf}", SWANCTL, *args]
        return run(env_argv, check=check, timeout=timeout)

    def load(self, s: Side) -> None:
        """Load the side's connections and secrets."""
        self.swanctl(s, "--load-all", "--noprompt", "--file", str(s.workdir / "swanctl.conf"))

    def initiate(
        self, child: str = "lab", ike: str | None = None, check: bool = True, timeout_s: int = 10
    ) -> subprocess.CompletedProcess[str]:
        """Initiate a CHILD_SA (and its IKE_SA) from side a."""
        args = ["--initiate", "--child", child, "--timeout", str(timeout_s)]
        if ike:
            args += ["--ike", ike]
        return self.swanctl(self.a, *args, check=check)

    def ensure_up(self, child: str = "lab") -> None:
        """Initiate ``child`` unless an INSTALLED CHILD SA of that name exists already."""
        out = self.swanctl(self.a, "--list-sas", "--raw").stdout
        if re.search(rf"name={re.escape(child)} uniqueid=\d+ reqid=\d+ state=INSTALLED", out):
            return
        self.initiate(child)

    def provoke_auth_failure(self) -> subprocess.CompletedProcess[str]:
        """Initiate the ``bad`` connection (IKEv2): side b rejects a's PSK
        (AUTHENTICATION_FAILED)."""
        return self.initiate("bad", ike="bad", check=False, timeout_s=5)

    def provoke_ikev1_psk_mismatch(self) -> subprocess.CompletedProcess[str]:
        """Initiate the ``bad1`` connection (IKEv1 main mode, another PSK on each side). No
        authentication failure is said: neither side can decrypt the other's encrypted
        messages ("ignore malformed INFORMATIONAL request"), so a gives up after its
        retransmits ("peer not responding"), as :meth:`provoke_timeout` does."""
        return self.initiate("bad1", ike="bad1", check=False, timeout_s=20)

    @property
    def unused(self) -> str:
        """An address on the veth subnet that nobody has: IKE sent there gets no answer."""
        return f"10.99.{self.subnet}.77"

    def provoke_timeout(self) -> subprocess.CompletedProcess[str]:
        """Initiate the ``dead`` connection from a: its peer address is :attr:`unused`, so
        charon gives up after its retransmits (2 here, about 4.4 s: "peer not responding")."""
        return self.initiate("dead", ike="dead", check=False, timeout_s=20)

    def terminate_all(self) -> None:
        """Close every IKE_SA of side a."""
        for name in ("lab", "lab1", "bad", "bad1"):
            self.swanctl(self.a, "--terminate", "--ike", name, "--timeout", "5", check=False)

    def installed_children(self, s: Side) -> int:
        """CHILD SAs in state INSTALLED as ``swanctl --list-sas --raw`` shows them."""
        out = self.swanctl(s, "--list-sas", "--raw").stdout
        return out.count("state=INSTALLED")

    def counters(self, s: Side) -> dict[str, int]:
        """The global counters (``swanctl --counters --raw``), name → value."""
        out = self.swanctl(s, "--counters", "--raw").stdout
        values: dict[str, int] = {}
        for token in out.replace("{", " ").replace("}", " ").split():
            key, sep, value = token.partition("=")
            if sep and value.isdigit():
                values[key] = int(value)
        return values

    def reset_counters(self, s: Side) -> None:
        """``swanctl --counters --reset`` (a test action; tcpscope never does this)."""
        self.swanctl(s, "--counters", "--reset")

    # ----------------------------------------------------------------- traffic
    def traffic(
        self, count: int = 10, interval_s: float = 0.1, child: str = "lab", background: bool = False
    ) -> subprocess.Popen[bytes] | None:
        """Send UDP datagrams (200 bytes) from a's inner address to b's through the tunnel.

        The image has no ``ping``; UDP to b's discard port is enough to move the ESP byte and
        packet counters (b answers with ICMP port unreachable, which flows back through it).
        With ``background=True`` the sender keeps running and its Popen is returned.
        """
        src, dst = (
            (self.a.inner, self.b.inner) if child == "lab" else (self.a.inner_v1, self.b.inner_v1)
        )
        code = (
            "import socket,sys,time\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "s.bind((sys.argv[1],0))\n"
            "for _ in range(int(sys.argv[3])):\n"
            "    s.sendto(b'x'*200,(sys.argv[2],9))\n"
            "    time.sleep(float(sys.argv[4]))\n"
        )
        argv = [
            "ip",
            "netns",
            "exec",
            self.a.netns,
            sys.executable,
            "-c",
            code,
            src,
            dst,
            str(count),
            str(interval_s),
        ]
        if background:
            return subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        run(argv, timeout=count * interval_s + 15)
        return None

    def send_garbage(self, kind: str, count: int = 1, port: int = 500) -> None:
        """Send crafted UDP from a's netns to b's IKE port.

        Args:
            kind: ``invalid`` (shorter than an IKE header: charon counts ``invalid``) or
                ``spi`` (an IKEv1 header with random cookies: ``invalid-spi``).
        """
        payloads = [_garbage(kind) for _ in range(count)]
        code = (
            "import socket,sys,binascii\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "for h in sys.argv[3:]:\n"
            "    p=binascii.unhexlify(h)\n"
            "    if sys.argv[2]=='4500': p=b'\\0\\0\\0\\0'+p\n"
            "    s.sendto(p,(sys.argv[1],int(sys.argv[2])))\n"
        )
        self.ns(
            self.a,
            sys.executable,
            "-c",
            code,
            self.b.outer,
            str(port),
            *[p.hex() for p in payloads],
        )

    # ----------------------------------------------------------------- config
    def _swanctl_conf(self, s: Side) -> str:
        a, b = self.a, self.b
        me, peer = (a, b) if s.name == "a" else (b, a)
        wrong = secrets.token_hex(16)
        bad_secret = wrong if s.name == "a" else secrets.token_hex(16)
        return f"""\
connections {{
  lab {{
    version = 2
    local_addrs = {me.outer}
    remote_addrs = {peer.outer}
    local {{
      auth = psk
      id = {me.name}.lab
    }}
    remote {{
      auth = psk
      id = {peer.name}.lab
    }}
    children {{
      lab {{
        mode = tunnel
        local_ts = {me.inner}/32
        remote_ts = {peer.inner}/32
        esp_proposals = aes128gcm16
        start_action = none
      }}
    }}
  }}
  lab1 {{
    version = 1
    aggressive = no
    local_addrs = {me.outer}
    remote_addrs = {peer.outer}
    local {{
      auth = psk
      id = {me.name}1.lab
    }}
    remote {{
      auth = psk
      id = {peer.name}1.lab
    }}
    children {{
      lab1 {{
        mode = tunnel
        local_ts = {me.inner_v1}/32
        remote_ts = {peer.inner_v1}/32
        esp_proposals = aes128gcm16
        start_action = none
      }}
    }}
  }}
  dead {{
    version = 2
    local_addrs = {me.outer}
    remote_addrs = {self.unused}
    local {{
      auth = psk
      id = {me.name}dead.lab
    }}
    remote {{
      auth = psk
      id = dead.lab
    }}
    children {{
      dead {{
        mode = tunnel
        local_ts = {me.inner}/32
        remote_ts = {self.unused}/32
        esp_proposals = aes128gcm16
        start_action = none
      }}
    }}
  }}
  bad {{
    version = 2
    local_addrs = {me.outer}
    remote_addrs = {peer.outer}
    local {{
      auth = psk
      id = {me.name}bad.lab
    }}
    remote {{
      auth = psk
      id = {peer.name}bad.lab
    }}
    children {{
      bad {{
        mode = tunnel
        local_ts = {me.inner}/32
        remote_ts = {peer.inner}/32
        esp_proposals = aes128gcm16
        start_action = none
      }}
    }}
  }}
  bad1 {{
    version = 1
    aggressive = no
    local_addrs = {me.outer}
    remote_addrs = {peer.outer}
    local {{
      auth = psk
      id = {me.name}bad1.lab
    }}
    remote {{
      auth = psk
      id = {peer.name}bad1.lab
    }}
    children {{
      bad1 {{
        mode = tunnel
        local_ts = {me.inner_v1}/32
        remote_ts = {peer.inner_v1}/32
        esp_proposals = aes128gcm16
        start_action = none
      }}
    }}
  }}
}}
secrets {{
  ike-lab {{
    id-1 = a.lab
    id-2 = b.lab
    secret = "{self.psk}"
  }}
  ike-lab1 {{
    id-1 = a1.lab
    id-2 = b1.lab
    secret = "{self.psk}"
  }}
  ike-bad {{
    id-1 = abad.lab
    id-2 = bbad.lab
    secret = "{bad_secret}"
  }}
  ike-bad1 {{
    id-1 = abad1.lab
    id-2 = bbad1.lab
    secret = "{bad_secret}"
  }}
}}
"""

    # ----------------------------------------------------------------- state file
    def _save_state(self) -> None:
        STATE_DIR.mkdir(mode=0o700, exist_ok=True)
        state = {
            "suffix": self.suffix,
            "root": str(self.root),
            "subnet": self.subnet,
            "sides": {
                k: {
                    "netns": s.netns,
                    "pid": s.pid,
                    "vici": s.vici,
                    "conf": str(s.conf),
                    "outer": s.outer,
                    "inner": s.inner,
                }
                for k, s in self.sides.items()
            },
        }
        (STATE_DIR / f"{self.suffix}.json").write_text(json.dumps(state, indent=2))

    @classmethod
    def from_state(cls, path: Path) -> IpsecLab:
        """Re-attach to a lab started by ``up`` in another process (for ``down``)."""
        state = json.loads(path.read_text())
        lab = cls.__new__(cls)
        lab.suffix = state["suffix"]
        lab.subnet = state["subnet"]
        lab.root = Path(state["root"])
        lab.psk = ""
        lab.sides = {}
        for k, sd in state["sides"].items():
            lab.sides[k] = Side(
                name=k,
                netns=sd["netns"],
                veth=sd["netns"],
                outer=sd["outer"],
                inner=sd["inner"],
                inner_v1="",
                workdir=Path(sd["conf"]).parent,
                pid=sd["pid"],
            )
        return lab


def _garbage(kind: str) -> bytes:
    if kind == "invalid":
        # Shorter than the 28-byte IKE header: charon's header parser rejects it (alert
        # PARSE_ERROR_HEADER → counter ``invalid``). Not random 40 bytes: most of those fail the
        # version check, which is not counted; not a well-formed IKE_SA_INIT with a broken
        # body either: after ~10 of those charon's cookie (DoS) protection answers them unparsed.
        return secrets.token_bytes(10)
    if kind == "spi":
        # IKEv1 header: random initiator and responder cookies, next payload SA (1),
        # version 1.0, exchange ID_PROT (2), no flags, message id 0, length 28.
        return (
            secrets.token_bytes(16)
            + bytes([1, 0x10, 2, 0])
            + (0).to_bytes(4, "big")
            + (28).to_bytes(4, "big")
        )
    raise ValueError(kind)


def _connectable(path: str) -> bool:
    if not os.path.exists(path):
        return False
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(1.0)
        sock.connect(path)
        return True
    except OSError:
        return False
    finally:
        sock.close()


def _wait_gone(pid: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _is_charon(pid: int) -> bool:
    """A PID from a state file is only ours if it still is a charon (PIDs get reused)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "charon"
    except OSError:
        return False


def _alive(pid: int | None) -> bool:
    """The process runs (a zombie, exited but not yet reaped by its parent, does not)."""
    if pid is None:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def main(argv: list[str] | None = None) -> int:
    """``up [ID]`` starts a lab and leaves it running; ``down [ID]`` removes that lab only;
    ``status`` lists every lab (anyone's)."""
    parser = argparse.ArgumentParser(prog="python -m tests.lab.ipsec_lab")
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument(
        "id", nargs="?", default=DEFAULT_ID, help=f"the lab's ID (default {DEFAULT_ID})"
    )
    args = parser.parse_args(argv)
    lab_id: str = args.id
    if not _ID.fullmatch(lab_id):
        print(f"lab ID must be 1-11 of a-z and 0-9, not {lab_id!r}", file=sys.stderr)
        return 2
    state = STATE_DIR / f"{lab_id}.json"
    if args.action == "up":
        return _up(lab_id, state)
    if args.action == "status":
        paths = sorted(STATE_DIR.glob("*.json")) if STATE_DIR.exists() else []
        for p in paths:
            lab = IpsecLab.from_state(p)
            alive = {k: _alive(s.pid) for k, s in lab.sides.items()}
            print(
                f"{lab.suffix}: netns {[s.netns for s in lab.sides.values()]} "
                f"charon alive {alive} vici {lab.a.vici}"
            )
        if not paths:
            print("no lab running")
        return 0
    if not state.exists():
        print(f"no lab {lab_id} (see `python -m tests.lab.ipsec_lab status`)", file=sys.stderr)
        return 1
    lab = IpsecLab.from_state(state)
    lab.down()
    print(f"{lab.suffix}: removed")
    return 0


def _up(lab_id: str, state: Path) -> int:
    why = have_lab_tools()
    if why:
        print(why, file=sys.stderr)
        return 2
    if state.exists():
        print(
            f"lab {lab_id} is up already: `down {lab_id}` first, or give another ID",
            file=sys.stderr,
        )
        return 1
    lab = IpsecLab(suffix=lab_id)
    try:
        lab.up()
        lab.initiate("lab")
        lab.traffic(3)
    except BaseException as err:
        lab.down()
        print(f"lab up failed: {err}", file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                "id": lab.suffix,
                "vici": {k: s.vici for k, s in lab.sides.items()},
                "netns": {k: s.netns for k, s in lab.sides.items()},
                "swanctl": f"STRONGSWAN_CONF={lab.a.conf} swanctl --list-sas",
                "down": f"python -m tests.lab.ipsec_lab down {lab.suffix}",
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
