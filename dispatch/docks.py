"""The docks dispatch knows, and the check that a message really comes from its dock.

Every dock is registered in the settings (``[[docks]]``, made by ``outrider keys dock``) with
the Ed25519 public key its messages are signed with. A message on a dock's topics counts only
when that dock is registered and the message carries the dock's signature; with
``allow_unsigned_docks`` (development only) a dock registered without a key may send unsigned.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from dispatch.config import DockEntry
from edge.errors import ConfigError, ProtocolError
from edge.protocol.signing import load_public_keys, parse_public_key_text, verify_message

__all__ = ["DockRegistry"]

logger = logging.getLogger(__name__)


def _keys(entry: DockEntry) -> list[Ed25519PublicKey] | None:
    if entry.public_key_file is not None:
        return load_public_keys(entry.public_key_file)
    if entry.public_key is not None:
        try:
            return [parse_public_key_text(entry.public_key)]
        except ValueError as exc:
            raise ConfigError(f"docks: the public_key of {entry.id!r}: {exc}") from exc
    return None


class DockRegistry:
    """The registered docks and their keys.

    Args:
        entries: the ``[[docks]]`` of the settings.
        allow_unsigned: accept unsigned messages from docks registered without a key.

    Raises:
        ConfigError: when a key cannot be read, or a dock has none and unsigned is not allowed.
    """

    def __init__(self, entries: Sequence[DockEntry], *, allow_unsigned: bool = False) -> None:
        self._keys: dict[str, list[Ed25519PublicKey] | None] = {}
        for entry in entries:
            keys = _keys(entry)
            if keys is None and not allow_unsigned:
                raise ConfigError(
                    f"dock {entry.id!r} has no public key: make one with `outrider keys dock "
                    f"{entry.id}`, or set allow_unsigned_docks = true for development only"
                )
            self._keys[entry.id] = keys
        self.allow_unsigned = allow_unsigned
        unsigned = [d for d, k in self._keys.items() if k is None]
        if unsigned:
            logger.warning(
                "DEVELOPMENT MODE: docks %s are taken at their word without signatures; "
                "anyone who can publish on their topics speaks for them",
                unsigned,
            )

    def __contains__(self, dock_id: object) -> bool:
        return dock_id in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def signed(self, dock_id: str) -> bool:
        """Whether messages of ``dock_id`` must carry its signature."""
        return self._keys.get(dock_id) is not None

    def check(self, dock_id: str, obj: dict[str, Any] | None = None) -> None:
        """Refuse a message on ``dock_id``'s topics that is not that dock's.

        Args:
            dock_id: the dock of the topic.
            obj: the message's JSON object; ``None`` for the plain-text ``availability``,
                which only a registered dock's topics may carry.

        Raises:
            ProtocolError: ``unknown_dock``, ``unsigned`` or ``bad_signature``.
        """
        if dock_id not in self._keys:
            raise ProtocolError(f"dock {dock_id!r} is not registered", code="unknown_dock")
        keys = self._keys[dock_id]
        if obj is not None and keys is not None:
            verify_message(obj, keys)
