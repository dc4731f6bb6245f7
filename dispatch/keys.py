"""Keys and tokens: the Ed25519 command-signing pair and API tokens for the config."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.errors import ConfigError

__all__ = ["PRIVATE_NAME", "PUBLIC_NAME", "init_keys", "new_token"]

PRIVATE_NAME = "dispatch_ed25519.pem"
PUBLIC_NAME = "dispatch_ed25519.pub.pem"


def init_keys(directory: Path, *, force: bool = False) -> tuple[Path, Path]:
    """Write a new Ed25519 pair: the private key (mode 0600) for dispatch, the public key
    for every edge. Returns ``(private, public)``.

    Raises:
        ConfigError: when a key is already there and ``force`` is not set.
    """
    private, public = directory / PRIVATE_NAME, directory / PUBLIC_NAME
    if not force and (private.exists() or public.exists()):
        raise ConfigError(f"keys already exist in {directory}; pass --force to replace them")
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
