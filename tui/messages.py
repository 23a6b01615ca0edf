"""App-level messages: what happened, in past tense, flowing up to the App.

Widgets' own messages stay nested in the widget (``ConnTable.CursorMoved``); these are the ones
the App itself handles or that tests capture with ``message_hook``.
"""

from __future__ import annotations

from textual.message import Message

from core.connections import Snapshot
from core.ipsec import IpsecView


class SnapshotReceived(Message):
    """The feed produced a snapshot (a newer one replaces an unhandled older one)."""

    def __init__(self, snapshot: Snapshot) -> None:
        """Carry ``snapshot``."""
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        """Latest wins: never queue two snapshots."""
        return isinstance(message, SnapshotReceived)


class IpsecReceived(Message):
    """The feed sampled IPsec on its own clock (a newer view replaces an unhandled older one)."""

    def __init__(self, view: IpsecView) -> None:
        """Carry ``view``."""
        super().__init__()
        self.view = view

    def can_replace(self, message: Message) -> bool:
        """Latest wins."""
        return isinstance(message, IpsecReceived)


class FeedFailed(Message):
    """The feed's stream ended with an exception (the app keeps running)."""

    def __init__(self, error: BaseException) -> None:
        """Carry the error."""
        super().__init__()
        self.error = error
