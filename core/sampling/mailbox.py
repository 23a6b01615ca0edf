"""A single-consumer, latest-wins mailbox: what the sampler's streams hand out.

Why: a slow consumer must get the newest value, never a backlog. The producer puts; the
consumer's ``async for`` wakes with whatever is newest, or ends when the mailbox closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Mailbox(Generic[T]):
    """Holds at most one unseen value."""

    def __init__(self) -> None:
        """An empty, open mailbox."""
        self.unseen: T | None = None
        """The value put and not taken yet (the producer may fold a newer one into it)."""
        self._ready = asyncio.Event()
        self._closed = False

    def put(self, value: T) -> None:
        """Replace the unseen value and wake the consumer."""
        self.unseen = value
        self._ready.set()

    def drop(self) -> None:
        """Forget the unseen value (it was handed out another way)."""
        self.unseen = None

    def close(self) -> None:
        """End the consumer's iteration."""
        self._closed = True
        self._ready.set()

    async def values(self) -> AsyncIterator[T]:
        """Each newest value as it arrives, until :meth:`close`."""
        while not self._closed:
            await self._ready.wait()
            self._ready.clear()
            value, self.unseen = self.unseen, None
            if value is not None:
                yield value
