"""Sorties flown for us by another force's dock, as the incident service sees them.

Mutual aid (:mod:`dispatch.interop.aid`) implements this; the incident service only calls it
at its three seams: when no dock of ours can go, on recall, and on closing.
"""

from __future__ import annotations

from typing import Protocol

from dispatch.models import CommandPublic, IncidentRecord
from dispatch.service_errors import DockReason

__all__ = ["RemoteSorties"]


class RemoteSorties(Protocol):
    """Sorties flown by a neighbouring force's dock (mutual aid), as the service sees them."""

    async def no_dock(
        self, incident: IncidentRecord, reasons: list[DockReason], actor: str, *, could_queue: bool
    ) -> IncidentRecord | None:
        """Ask a neighbour when no dock of ours can go; the incident if one took it.

        ``could_queue``: the incident could wait in our own queue instead (the agreement
        decides whether to ask first)."""
        ...

    async def recall(self, incident: IncidentRecord, actor: str) -> CommandPublic | None:
        """Recall a neighbour's drone out on the incident; ``None`` if none is."""
        ...

    async def close(self, incident: IncidentRecord, actor: str) -> None:
        """Tell a neighbour flying for the incident that it is closed."""
        ...
