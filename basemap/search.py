"""Address search over the places a tile file carries: street names, addresses and named
places, read from the same OpenStreetMap extract as the map (so it works offline)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from basemap.features import Place

__all__ = ["PlaceIndex", "normalise"]

KIND_ORDER = {"address": 0, "street": 1}
"""Addresses first, then streets, then every other named place."""


def normalise(text: str) -> str:
    """Lower case, accents dropped, spaces collapsed: what a dispatcher types matches
    ``Eerikinkatu``, ``Töölönlahti`` or ``toolonlahti`` alike."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.replace(",", " ").split())


@dataclass(frozen=True, slots=True)
class _Entry:
    key: str
    words: tuple[str, ...]
    place: Place


class PlaceIndex:
    """Every place, searchable by what its name starts with or contains.

    Args:
        places: addresses (``"Street 12"``), streets and named places.
    """

    def __init__(self, places: Iterable[Place]) -> None:
        seen: set[tuple[str, str]] = set()
        self._entries: list[_Entry] = []
        for p in places:
            key = normalise(p.name)
            if not key or (key, p.kind) in seen:
                continue
            seen.add((key, p.kind))
            self._entries.append(_Entry(key, tuple(key.split()), p))

    def __len__(self) -> int:
        return len(self._entries)

    def search(self, query: str, limit: int = 10) -> list[Place]:
        """The best ``limit`` places for ``query``: the exact name, then names that start with
        it, then names with a word that does, then names that contain it; within each,
        addresses before streets before other places, then the shorter name, then by number
        (``Mannerheimintie 5`` before ``Mannerheimintie 50``)."""
        q = normalise(query)
        if not q:
            return []
        ranked = []
        for e in self._entries:
            if e.key == q:
                rank = 0
            elif e.key.startswith(q):
                rank = 1
            elif any(w.startswith(q) for w in e.words) or f" {q}" in f" {e.key}":
                rank = 2
            elif q in e.key:
                rank = 3
            else:
                continue
            ranked.append((rank, KIND_ORDER.get(e.place.kind, 2), len(e.key), e.key, e.place))
        ranked.sort(key=lambda r: r[:4])
        return [r[4] for r in ranked[:limit]]
