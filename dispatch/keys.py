"""Keys and tokens: dispatch's command-signing pair, each dock's pair, and API tokens.

Dispatch signs commands with its private key (every edge holds the public key); each dock
signs what it publishes with its own private key (dispatch holds every dock's public key, in a
``[[docks]]`` entry of its settings that :func:`register_dock` can append).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tomllib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.errors import ConfigError
from edge.protocol.models import DOCK_ID_PATTERN
from edge.protocol.signing import load_public_key, public_key_text

__all__ = [
    "PRIVATE_NAME",
    "PUBLIC_NAME",
    "dock_entry",
    "dock_keys",
    "init_keys",
    "new_token",
    "register_dock",
]

PRIVATE_NAME = "dispatch_ed25519.pem"
PUBLIC_NAME = "dispatch_ed25519.pub.pem"


def init_keys(directory: Path, *, force: bool = False) -> tuple[Path, Path]:
    """Write a new Ed25519 pair: the private key (mode 0600) for dispatch, the public key
    for every edge. Returns ``(private, public)``.

    Raises:
        ConfigError: when a key is already there and ``force`` is not set.
    """
    return _write_pair(directory / PRIVATE_NAME, directory / PUBLIC_NAME, force=force)


def dock_keys(directory: Path, dock_id: str, *, force: bool = False) -> tuple[Path, Path]:
    """Write a dock's Ed25519 pair: ``<dock>_ed25519.pem`` (mode 0600, for that dock's
    ``[signing] key`` only) and ``<dock>_ed25519.pub.pem`` (for dispatch). Returns both paths.

    Raises:
        ConfigError: when ``dock_id`` is no dock id, or a key is there and ``force`` is not set.
    """
    if not re.match(DOCK_ID_PATTERN, dock_id):
        raise ConfigError(f"{dock_id!r} is not a valid dock id")
    return _write_pair(
        directory / f"{dock_id}_ed25519.pem", directory / f"{dock_id}_ed25519.pub.pem", force=force
    )


def dock_entry(dock_id: str, public: Path) -> str:
    """The ``[[docks]]`` entry that registers a dock's public key in dispatch's settings."""
    key = public_key_text(load_public_key(public))
    return f'[[docks]]\nid = "{dock_id}"\npublic_key = "{key}"\n'


def register_dock(config: Path, dock_id: str, public: Path) -> None:
    """Append the dock's ``[[docks]]`` entry to dispatch's settings file.

    Raises:
        ConfigError: when the file cannot be read or written, or already registers the dock.
    """
    try:
        text = config.read_text(encoding="utf-8") if config.exists() else ""
        if dock_id in {d.get("id") for d in tomllib.loads(text).get("docks", [])}:
            raise ConfigError(
                f"{config} already registers {dock_id}; remove its [[docks]] entry to replace it"
            )
        with config.open("a", encoding="utf-8") as f:
            f.write(
                ("\n" if text and not text.endswith("\n\n") else "") + dock_entry(dock_id, public)
            )
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot register {dock_id} in {config}: {exc}") from exc


def _write_pair(private: Path, public: Path, *, force: bool) -> tuple[Path, Path]:
    directory = private.parent
    if not force and (private.exists() or public.exists()):
        raise ConfigError(
            f"{private.name} already exists in {directory}; pass --force to replace it"
        )
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def new_token() -> tuple[str, str]:
    """A random API token and its SHA-256 hex digest (what the config keeps)."""
    token = secrets.token_urlsafe(32)
    return token, hashlib.sha256(token.encode()).hexdigest()
