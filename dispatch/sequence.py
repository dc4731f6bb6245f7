"""Gaps in a sortie's events: the numbered events of a sortie that dispatch has not received.

The edge numbers each sortie's events 1, 2, 3... (``Event.seq``). Delivery is guaranteed as far
as the broker, and no further: a broker that lost its store loses what it held. So when an
event arrives numbered above the next one expected, the ones in between are missing, and
dispatch says so where the dispatcher looks (the incident's timeline, a ``gap`` line) and where
operations look (the ``dispatch_events_total{result="missing"}`` count and the log); one that
turns up later is noted as arrived late (``result="late"``).

With several dispatch instances taking a sortie's events (a shared subscription), one instance
may store event 3 before another has stored event 2, which it received at the same moment: a
gap seen there may be only another instance's event not yet committed. So in ``shared`` mode
each arrival is judged against what the store holds (not a memory of what this instance saw),
and a gap is only *suspected*: the recorder looks again a moment later and flags the numbers
still missing then.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field

from dispatch.store.sql import Tx
from edge.protocol import Event

__all__ = ["Gap", "SortieSequences"]

logger = logging.getLogger(__name__)

KEEP_SORTIES = 1000
TRACKED = 10_000
"""Numbers followed below a sortie's highest (a number far ahead is flagged, never expanded)."""


@dataclass(frozen=True)
class Gap:
    """Events ``first`` to ``last`` of a sortie, missing when a later one arrived."""

    dock_id: str
    sortie_id: str
    first: int
    last: int

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    def describe(self) -> str:
        which = f"event {self.first}" if self.count == 1 else f"events {self.first}-{self.last}"
        return f"{self.dock_id}: {which} of sortie {self.sortie_id} not received"


@dataclass
class _Sortie:
    top: int = 0
    missing: set[int] = field(default_factory=set)


class SortieSequences:
    """What dispatch holds of each recent sortie's numbering.

    Each sortie is read from the store the first time one of its events arrives (after a
    restart too) and then followed in memory, for the ``keep`` most recent sorties.
    """

    def __init__(self, keep: int = KEEP_SORTIES, *, shared: bool = False) -> None:
        self.keep = keep
        self.shared = shared
        self._sorties: OrderedDict[tuple[str, str], _Sortie] = OrderedDict()

    def missing(self, dock_id: str, sortie_id: str) -> bool:
        """Whether events of a sortie followed here are known to be missing."""
        sortie = self._sorties.get((dock_id, sortie_id))
        return sortie is not None and bool(sortie.missing)

    async def _from_store(self, tx: Tx, ev: Event, sortie_id: str) -> tuple[Gap | None, bool]:
        """Shared mode: judge ``ev`` (stored in ``tx``) against the sortie's stored numbers."""
        assert ev.seq is not None
        seen = set(await tx.sortie_seqs(ev.dock_id, sortie_id)) | {ev.seq}
        top = max(seen - {ev.seq}, default=0)
        high = max(top, ev.seq)
        missing = set(range(max(1, high - TRACKED), high + 1)) - seen
        key = (ev.dock_id, sortie_id)
        self._sorties[key] = _Sortie(high, missing)
        self._sorties.move_to_end(key)
        while len(self._sorties) > self.keep:
            self._sorties.popitem(last=False)
        gap = Gap(ev.dock_id, sortie_id, top + 1, ev.seq - 1) if ev.seq > top + 1 else None
        return gap, ev.seq < top

    def forget(self) -> None:
        """Drop what is remembered (a transaction that followed some events was rolled back)."""
        self._sorties.clear()

    async def arrived(self, tx: Tx, ev: Event) -> tuple[Gap | None, bool]:
        """Follow a newly stored event of a numbered sortie.

        Returns:
            the gap it opens (events skipped over), if any, and whether it fills a gap.
        """
        if ev.seq is None or ev.sortie_id is None:
            return None, False
        if self.shared:
            return await self._from_store(tx, ev, ev.sortie_id)
        key = (ev.dock_id, ev.sortie_id)
        sortie = self._sorties.get(key)
        if sortie is None:
            seen = set(await tx.sortie_seqs(ev.dock_id, ev.sortie_id)) - {ev.seq}
            top = max(seen, default=0)
            sortie = _Sortie(top, set(range(max(1, top - TRACKED), top + 1)) - seen)
            self._sorties[key] = sortie
            while len(self._sorties) > self.keep:
                self._sorties.popitem(last=False)
        self._sorties.move_to_end(key)
        if ev.seq in sortie.missing:
            sortie.missing.discard(ev.seq)
            return None, True
        gap = None
        if ev.seq > sortie.top + 1:
            gap = Gap(ev.dock_id, ev.sortie_id, sortie.top + 1, ev.seq - 1)
            sortie.missing.update(range(max(gap.first, gap.last - TRACKED), gap.last + 1))
            logger.warning("%s", gap.describe())
        sortie.top = max(sortie.top, ev.seq)
        return gap, False
