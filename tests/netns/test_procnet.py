"""The /proc/PID/net/tcp{,6} fallback reads the same sockets, keyed like sock_diag's dump."""

from __future__ import annotations

import os
import socket
import sys

import pytest

from core.netns.procnet import parse, read_keys

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="procfs")


def test_procfs_keys_equal_sock_diag_keys_without_cookie() -> None:
    from core.connections.sources.inet_diag import SOCKET_KEY, InetDiagDumper

    with (
        socket.socket(socket.AF_INET6) as v6,
        socket.socket() as v4,
    ):
        v6.bind(("::1", 0))
        v6.listen()
        v4.bind(("127.0.0.1", 0))
        v4.listen()
        with socket.create_connection(v4.getsockname()) as client:
            inodes = {os.fstat(s.fileno()).st_ino for s in (v6, v4, client)}

            def ours(key: bytes) -> bool:
                return int.from_bytes(key[54:58], sys.byteorder) in inodes

            procfs = {k for k in read_keys(os.getpid()) if ours(k)}
            dumper = InetDiagDumper(tcp_info=False)
            try:
                dumped = set()
                for chunk, end in dumper.dump(socket.AF_UNSPEC):
                    off = 0
                    while off < end:
                        length, _t, head, sockid, owner = SOCKET_KEY.unpack_from(chunk, off)
                        # procfs has no interface index and no cookie: zero them
                        key = head + sockid[:36] + bytes(12) + owner
                        if ours(key):
                            dumped.add(key)
                        off += (length + 3) & ~3
            finally:
                dumper.close()
    assert len(procfs) == 3
    assert procfs == dumped


def test_a_line_it_does_not_understand_is_skipped() -> None:
    text = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode\n"
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 7 1\n"
        "   1: garbage\n"
        "   2: ZZZZZZZZ:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 8 1\n"
    )
    (key,) = parse(text, socket.AF_INET)
    assert key[0] == socket.AF_INET and key[1] == 10  # LISTEN
    assert key[2:4] == (8080).to_bytes(2, "big")
    assert key[6:10] == bytes([127, 0, 0, 1])
    assert int.from_bytes(key[54:58], sys.byteorder) == 7
