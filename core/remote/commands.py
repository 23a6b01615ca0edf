"""The command line's remote paths: the feed for the app and ``record``, and one-shot samples.

Why here: ``connections``, ``ipsec``, ``record`` and the app each need the remote version of
what they do locally, and each gets it through one call, so their own modules change by a
line. The one-shot commands ask the agent for exactly what the local command samples
(every tcp_info, no IPsec for ``connections``; one IPsec view for ``ipsec``), then print it
with the local code, so the output is the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.connections.snapshot import Snapshot
from core.errors import RemoteError
from core.recording.codec import IPSEC_VIEW, DecodeError
from core.recording.frame_decoder import FrameDecoder
from core.remote.feed import RemoteFeed
from core.remote.notice import SlowStartNotice
from core.remote.session import MAX_START_TIMEOUT_S, AgentSession, Disconnected
from core.remote.target import RemoteTarget
from core.remote.wire import CONTROL

if TYPE_CHECKING:
    from core.ipsec.model import IpsecView


def open_remote_feed(
    target: RemoteTarget, config: dict[str, Any], *, recording: bool = False
) -> RemoteFeed:
    """A connected feed from ``target`` streaming with ``config`` (see :func:`stream_config`;
    ``recording``: see :class:`RemoteFeed`); RemoteError with the cause if it fails."""
    feed = RemoteFeed(target, config, recording=recording)
    feed.connect()
    return feed


def _one_session(target: RemoteTarget, config: dict[str, Any]) -> list[dict[str, Any]]:
    """Messages of a session that ends by itself (a one-shot mode)."""
    session = AgentSession(target, config, batch=False, sending_timeout_s=MAX_START_TIMEOUT_S)
    out: list[dict[str, Any]] = []
    with SlowStartNotice() as notice:
        session.start(notice=notice)
        notice.stage(f"waiting for the sample from {target.label}…")
        try:
            for message in session.messages():
                out.append(message)
                if message.get("k") is not None or message.get(CONTROL) == "ipsec":
                    break
        except Disconnected as exc:
            raise RemoteError(f"{target.label}: the agent stopped early ({exc})") from None
        finally:
            session.close()
    return out


def remote_snapshot(target: RemoteTarget, *, tcp_info: bool, netns: str | None = None) -> Snapshot:
    """One sample taken on ``target`` as ``tcpscope connections`` takes it locally (the
    agent calls the same function, which waits for container names), of the server's network
    namespaces ``netns`` (see stream_config)."""
    config = {"mode": "snapshot", "every_tcp_info": tcp_info, "netns": netns}
    try:
        for message in _one_session(target, config):
            if message.get("k") is not None:
                snap = FrameDecoder(0.0, one_shot=True).apply(message)
                if snap is not None:
                    return snap
    except DecodeError as exc:
        raise RemoteError(f"{target.label}: bad sample from the agent ({exc})") from None
    raise RemoteError(f"{target.label}: the agent sent no sample")


def remote_ipsec_view(target: RemoteTarget, provider: str, vici: str | None) -> IpsecView:
    """One IPsec view read on ``target`` as ``tcpscope ipsec`` reads it locally."""
    for message in _one_session(target, {"mode": "ipsec", "provider": provider, "vici": vici}):
        if message.get(CONTROL) == "ipsec":
            try:
                view: IpsecView = IPSEC_VIEW.decode(message.get("view"))
            except DecodeError as exc:
                raise RemoteError(f"{target.label}: bad IPsec view ({exc})") from None
            return view
    raise RemoteError(f"{target.label}: the agent sent no IPsec view")
