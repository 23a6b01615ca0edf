"""``--json`` reads every socket's tcp_info from the digests the dump's walk already took (one
unpack per digest, in C), and finds each record's by its inode: on real kernel replies
(listeners, connections that moved data, a TIME_WAIT, both families), the same values as
reading each message on its own."""

from __future__ import annotations

import socket
import sys

import pytest

from core.connections.oneshot import take_snapshot
from core.connections.sources.inet_diag import InetDiagDumper
from core.connections.sources.info_digest import KeptReply, info_digests, inode_digests
from core.connections.sources.netlink import reply_keys
from core.connections.sources.reply_walk import ReplyWalker
from core.connections.tcpinfo import FROM_DIGEST, LazyTcpInfo
from tests.integration.sockets import SocketBag

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink dump")


def _kept_replies() -> list[KeptReply]:
    dumper = InetDiagDumper(tcp_info=True)
    try:
        kept: list[KeptReply] = []
        stream = dumper.chunks(socket.AF_UNSPEC)
        for _keys in reply_keys(socket.AF_UNSPEC, dumper, stream, kept, ReplyWalker(True)):
            pass
        return kept
    finally:
        dumper.close()


def test_digests_from_the_walk_equal_those_read_message_by_message() -> None:
    with SocketBag() as bag:
        v4, v6 = bag.listener(), bag.listener("::1")
        client, _server = bag.pair(v4)
        client.sendall(b"x" * 70_000)  # bytes acked and received, a queue maybe
        bag.pair(v6)
        bag.time_wait(v4)
        kept = _kept_replies()
    assert kept and all(digests is not None for _family, _chunk, digests in kept)
    fast = info_digests(kept)
    alone = info_digests([(family, chunk, None) for family, chunk, _digests in kept])
    assert len(fast) >= 5  # two listeners, two pairs at least (a TIME_WAIT has none)
    assert fast == alone
    assert list(fast) == list(alone)  # the same order: a socket listed twice keeps its last
    by_inode = inode_digests(kept)
    if by_inode is not None:  # (None: a closing socket somewhere on the host has no inode)
        assert list(by_inode.values()) == list(fast.values())
    assert inode_digests([(family, chunk, None) for family, chunk, _digests in kept]) is None


def test_each_record_finds_the_digest_of_its_own_message() -> None:
    """The JSON writer's digest of each record (found by its inode when inodes tell the
    sockets apart, else by its sockid) holds what the record's own message decodes to."""
    with SocketBag() as bag:
        v4, v6 = bag.listener(), bag.listener("::1")
        client, _server = bag.pair(v4)
        client.sendall(b"y" * 50_000)
        bag.pair(v6)
        bag.time_wait(v4)
        snap = take_snapshot("netlink", tcp_info=True)
    infos = snap.tcp_info
    assert isinstance(infos, LazyTcpInfo)
    read = infos.digest_reader()
    assert read is not None
    records = list(snap.connections.values())
    digests = read(records)
    with_info = [(rec, d) for rec, d in zip(records, digests, strict=True) if d is not None]
    assert len(with_info) >= 6  # ours at least: two listeners, two pairs
    for rec, digest in with_info:
        assert FROM_DIGEST(digest) == infos.fields(rec.instance_id)
    no_info = [rec for rec, d in zip(records, digests, strict=True) if d is None]
    assert all(infos.fields(rec.instance_id) is None for rec in no_info)  # TIME_WAIT
    assert no_info
