"""The one thing screens consume: a Feed of Snapshots.

The live :class:`core.sampling.sampler.Sampler`, a replayed recording and the demo all implement
:class:`Feed`, so no screen knows (or needs to know) where its data comes from. A replay also
implements :class:`Seekable` for its extra controls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from datetime import datetime
from typing import Protocol, runtime_checkable

from core.connections.snapshot import Snapshot
from core.ipsec.model import IpsecView


@runtime_checkable
class Feed(Protocol):
    """A single-consumer stream of snapshots with pause and interval controls."""

    @property
    def live(self) -> bool:
        """True when the data is sampled now (not a recording)."""
        ...

    @property
    def source_name(self) -> str:
        """Name shown in the header (``netlink``, ``psutil``, ``demo``, ``replay:<file>``)."""
        ...

    @property
    def paused(self) -> bool:
        """True while no new snapshots are produced."""
        ...

    @property
    def interval_s(self) -> float:
        """Seconds between samples (or between replayed samples at ×1)."""
        ...

    def set_interval(self, interval_s: float) -> None:
        """Change the interval at run time; raises UsageError outside 0.1–60 s."""
        ...

    def pause(self) -> None:
        """Stop producing snapshots until :meth:`resume`."""
        ...

    def resume(self) -> None:
        """Produce snapshots again."""
        ...

    def stream(self) -> AsyncIterator[Snapshot]:
        """Newest snapshot each time the consumer asks (latest wins, no backlog)."""
        ...

    async def aclose(self) -> None:
        """Stop producing and release the source."""
        ...


@runtime_checkable
class Seekable(Feed, Protocol):
    """A recorded feed (replay): a Feed with a position in time and controls to move it."""

    @property
    def index(self) -> int:
        """Number of the sample shown (0-based)."""
        ...

    @property
    def length(self) -> int:
        """How many samples the recording holds."""
        ...

    @property
    def number(self) -> int:
        """1-based place in the recording of the sample shown (samples of damaged blocks
        that were skipped count, so it can jump while ``index`` steps by one)."""
        ...

    @property
    def total(self) -> int:
        """The number of the last sample (``length`` plus the samples skipped as damaged)."""
        ...

    def number_of(self, snap: Snapshot) -> int:
        """1-based position in the recording of ``snap`` (one the feed emitted): the number
        the replay bar, the marks and the diff all name a sample by."""
        ...

    def current(self) -> Snapshot:
        """The sample at the current position, also before the stream has shown it (a mark
        typed right behind a step is that sample's)."""
        ...

    @property
    def start_time(self) -> datetime:
        """Time of the first recorded sample."""
        ...

    @property
    def end_time(self) -> datetime:
        """Time of the last recorded sample."""
        ...

    @property
    def position(self) -> datetime:
        """Time of the sample currently shown."""
        ...

    @property
    def speed(self) -> float:
        """Playback speed factor (0.25–16)."""
        ...

    def set_speed(self, speed: float) -> None:
        """Change playback speed."""
        ...

    def step(self, samples: int) -> None:
        """Move by ``samples`` (negative = back) and show that sample; pauses playback."""
        ...

    def seek(self, when: datetime) -> None:
        """Jump to the last sample at or before ``when``."""
        ...


@runtime_checkable
class ShowsPages(Protocol):
    """A feed whose stream may begin with a first page (:attr:`Snapshot.page`) and holds the
    rest of its first sample until the UI has drawn that page (live netlink)."""

    def page_shown(self) -> None:
        """The first page is on screen: the rest of the first sample may go on."""
        ...


@runtime_checkable
class WatchesTcpInfo(Protocol):
    """A feed that gives tcp_info only for the connections someone looks at (live netlink).

    Why: asking the kernel for every socket's tcp_info in every dump costs a fifth more
    kernel time and keeps the replies in memory; a screen shows one connection's at a time.
    """

    def watch_tcp_info(self, instance_ids: Collection[str]) -> None:
        """From now on, snapshots carry tcp_info for these connections (and a snapshot with
        them follows at once, without waiting for the next sample)."""
        ...


@runtime_checkable
class StreamsIpsec(Protocol):
    """A feed that samples IPsec on its own clock (the live sampler).

    Its views arrive through :meth:`ipsec_stream` as they are taken; snapshots carry the
    view that was current at their sample time. A feed without it (replay, demo) delivers
    IPsec only inside its snapshots.
    """

    def ipsec_stream(self) -> AsyncIterator[IpsecView]:
        """Newest IPsec view each time the consumer asks (latest wins)."""
        ...


@runtime_checkable
class YieldsToUi(Protocol):
    """A feed whose sampling stands back while the UI answers a key (the live Sampler)."""

    def ui_busy(self) -> None:
        """A key is being answered: sampling waits (briefly) between its steps."""
        ...

    def ui_done(self) -> None:
        """The answer is on screen: sampling goes on."""
        ...
