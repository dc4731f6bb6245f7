"""Gaps in a sortie's events: the numbered events of a sortie that dispatch has not received.

The edge numbers each sortie's events 1, 2, 3... (``Event.seq``). Delivery is guaranteed as far
as the broker, and no further: a broker that lost its store loses what it held. So when an
event arrives numbered above the next one expected, the ones in between are missing, and
dispatch says so where the dispatcher looks (the incident's timeline, a ``gap`` line) and where
operations look (the ``dispatch_events_total{result="missing"}`` count and the log); one that
turns up later is noted as arrived late (``result="late"``).
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

    def __init__(self, keep: int = KEEP_SORTIES) -> None:
        self.keep = keep
        self._sorties: OrderedDict[tuple[str, str], _Sortie] = OrderedDict()

    def missing(self, dock_id: str, sortie_id: str) -> bool:
        """Whether events of a sortie followed here are known to be missing."""
        sortie = self._sorties.get((dock_id, sortie_id))
        return sortie is not None and bool(sortie.missing)

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
