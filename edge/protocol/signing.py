"""Ed25519 signatures on commands: dispatch signs, the edge verifies.

The signature covers :func:`~edge.protocol.commands.signing_payload` (the parsed envelope
without ``sig``, canonical JSON) and travels base64-encoded in ``sig``. Keys are raw 32-byte
Ed25519 keys in PEM files (``outrider keys init``). An edge's public-key file may hold several
keys, one PEM block each: a command signed by any of them verifies, which is how dispatch's key
is rotated without a moment in which the docks refuse it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.errors import ConfigError, RefusedError
from edge.protocol.commands import CommandEnvelope, signing_payload
from edge.protocol.models import AckCode

__all__ = ["load_private_key", "load_public_key", "load_public_keys", "sign", "verify"]

C = TypeVar("C", bound=CommandEnvelope)


def sign(command: C, key: Ed25519PrivateKey) -> C:
    """A copy of ``command`` with ``sig`` set."""
    sig = base64.b64encode(key.sign(signing_payload(command))).decode()
    return command.model_copy(update={"sig": sig})


def verify(command: CommandEnvelope, key: Ed25519PublicKey | Sequence[Ed25519PublicKey]) -> None:
    """Check the signature of ``command`` against ``key`` (or any of several keys).

    Raises:
        RefusedError: ``unsigned`` when there is no signature, ``bad_signature`` when it does
            not verify against ``key`` (any of them).
    """
    if not command.sig:
        raise RefusedError(
            "command is not signed and this dock requires signatures", code=AckCode.UNSIGNED
        )
    keys = [key] if isinstance(key, Ed25519PublicKey) else list(key)
    try:
        raw = base64.b64decode(command.sig, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    payload = signing_payload(command)
    for candidate in keys:
        try:
            candidate.verify(raw, payload)
            return
        except (ValueError, InvalidSignature):
            continue
    raise RefusedError("command signature does not verify", code=AckCode.BAD_SIGNATURE)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read a PEM Ed25519 private key.

    Raises:
        ConfigError: when the file is missing or not an Ed25519 private key.
    """
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"signing key {path} cannot be used: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"signing key {path} is not an Ed25519 private key")
    return key


def load_public_keys(path: Path) -> list[Ed25519PublicKey]:
    """Read every Ed25519 public key in a PEM file (one block each; at least one).

    Raises:
        ConfigError: when the file is missing, holds no key, or any block is not one.
    """
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"dispatch public key {path} cannot be used: {exc}") from exc
    end = b"-----END PUBLIC KEY-----"
    blocks = [b + end for b in text.split(end) if b.strip()]
    keys = []
    for block in blocks:
        try:
            key = serialization.load_pem_public_key(block.strip())
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"dispatch public key {path} cannot be used: {exc}") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise ConfigError(f"dispatch public key {path} holds a key that is not Ed25519")
        keys.append(key)
    if not keys:
        raise ConfigError(f"dispatch public key {path} holds no key")
    return keys


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read a PEM Ed25519 public key.

    Raises:
        ConfigError: when the file is missing or not an Ed25519 public key.
    """
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"dispatch public key {path} cannot be used: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"dispatch public key {path} is not an Ed25519 public key")
    return key
