"""Which numbers in a socket's queues and byte counts are a SYN or a FIN, not data.

Why: Linux counts sequence space, where a SYN and a FIN take one number each. Recv-Q is
``rcv_nxt - copied_seq`` and Send-Q ``write_seq - snd_una`` (``tcp_diag_get_info``); a CloseWait
socket whose peer sent only a FIN reads Recv-Q 1 (``tcp_data_queue`` moves ``rcv_nxt`` past the
FIN; ``tcp_recvmsg`` moves ``copied_seq`` past it when the process reads the end of stream), and
``tcp_send_fin``/``tcp_connect`` add one to ``write_seq`` for this side's FIN/SYN until the peer
acknowledges it. What a State proves, these functions say; a person is shown data bytes.

``tcpi_bytes_received``/``tcpi_bytes_acked`` are sequence space too (``tcp_rcv_nxt_update``,
``tcp_snd_una_update``) but not decodable for certain: the active opener's SYN is counted
(acknowledged through ``tcp_ack``) and the passive one's is not (``tcp_create_openreq_child``
sets ``snd_una`` past it), and a Fast Open SYN carrying a FIN leaves the FIN out. So those are
shown as the kernel counts them, with that said.
"""

from __future__ import annotations

from typing import Final, Literal

from core.connections.model import TcpState

_PEER_FIN_IN: Final = frozenset({TcpState.CLOSE_WAIT, TcpState.LAST_ACK, TcpState.CLOSING})
"""States reached by receiving the peer's FIN in order: ``rcv_nxt`` is past it."""
_OWN_FIN_UNACKED: Final = frozenset({TcpState.FIN_WAIT1, TcpState.CLOSING, TcpState.LAST_ACK})
"""States whose FIN is queued (``write_seq`` past it) and not yet acknowledged."""


def recv_q_holds_fin(state: TcpState, recv_q: int) -> bool:
    """Whether a Recv-Q of ``recv_q`` counts the peer's FIN, not read yet: in a state after
    the FIN arrived, any non-zero Recv-Q does (the FIN is read last, after every byte before
    it, and ``copied_seq`` passes it then), so it is ``recv_q - 1`` bytes of data plus it."""
    return recv_q > 0 and state in _PEER_FIN_IN


def send_q_control(state: TcpState, send_q: int) -> Literal["SYN", "FIN"] | None:
    """The SYN or FIN a Send-Q of ``send_q`` counts, not yet acknowledged (SynSent: the SYN;
    FinWait1, Closing, LastAck: this side's FIN), or None: all of it is data."""
    if send_q <= 0:
        return None
    if state is TcpState.SYN_SENT:
        return "SYN"
    return "FIN" if state in _OWN_FIN_UNACKED else None
