"""Ed25519 signatures on the wire: dispatch signs commands, each dock signs what it publishes.

**Commands.** The signature covers :func:`~edge.protocol.commands.signing_payload` (the parsed
envelope without ``sig``, canonical JSON) and travels base64-encoded in ``sig``. An edge's
public-key file may hold several keys, one PEM block each: a command signed by any of them
verifies, which is how dispatch's key is rotated without a moment in which the docks refuse it.

**Dock messages** (state, telemetry, events, detections, acks). Each dock has a key pair of its
own (``outrider keys dock``); dispatch holds every dock's public key. The signature covers the
payload's own JSON object without ``sig``, in canonical form (sorted keys, no spaces), so a field
one side does not know is covered all the same and a newer edge stays readable by an older
dispatch. ``availability`` is plain text and the broker's last will, so it is not signed:
dispatch trusts a signed message heard after an ``offline`` more than the ``offline``.

Keys are raw 32-byte Ed25519 keys in PEM files; a public key may also be written as the base64
of its 32 bytes (:func:`public_key_text`), the form dispatch's ``[[docks]]`` entries take.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.errors import ConfigError, ProtocolError, RefusedError
from edge.protocol.commands import CommandEnvelope, canonical_json, signing_payload
from edge.protocol.models import AckCode, Signed

__all__ = [
    "Keys",
    "load_private_key",
    "load_public_key",
    "load_public_keys",
    "parse_public_key_text",
    "public_key_text",
    "sign",
    "sign_message",
    "verify",
    "verify_message",
]

C = TypeVar("C", bound=CommandEnvelope)
Keys = Ed25519PublicKey | Sequence[Ed25519PublicKey]


def _verifies(sig: str, payload: bytes, keys: Keys) -> bool:
    """Whether base64 ``sig`` is a signature of ``payload`` by ``keys`` (any of them)."""
    candidates = [keys] if isinstance(keys, Ed25519PublicKey) else list(keys)
    try:
        raw = base64.b64decode(sig, validate=True)
    except (binascii.Error, ValueError):
        return False
    for candidate in candidates:
        try:
            candidate.verify(raw, payload)
            return True
        except (ValueError, InvalidSignature):
            continue
    return False


def sign(command: C, key: Ed25519PrivateKey) -> C:
    """A copy of ``command`` with ``sig`` set."""
    sig = base64.b64encode(key.sign(signing_payload(command))).decode()
    return command.model_copy(update={"sig": sig})


def verify(command: CommandEnvelope, key: Keys) -> None:
    """Check the signature of ``command`` against ``key`` (or any of several keys).

    Raises:
        RefusedError: ``unsigned`` when there is no signature, ``bad_signature`` when it does
            not verify against ``key`` (any of them).
    """
    if not command.sig:
        raise RefusedError(
            "command is not signed and this dock requires signatures", code=AckCode.UNSIGNED
        )
    if not _verifies(command.sig, signing_payload(command), key):
        raise RefusedError("command signature does not verify", code=AckCode.BAD_SIGNATURE)


def sign_message(message: Signed, key: Ed25519PrivateKey) -> bytes:
    """The wire bytes of a dock's message, signed by the dock's key (compact UTF-8 JSON)."""
    data = message.model_dump(mode="json", exclude={"sig"})
    data["sig"] = base64.b64encode(key.sign(canonical_json(data))).decode()
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def verify_message(obj: dict[str, Any], keys: Keys) -> None:
    """Check the signature of a dock's message, given as the JSON object it arrived as.

    Raises:
        ProtocolError: ``unsigned`` when it carries no signature, ``bad_signature`` when the
            signature is not the dock's over this very object.
    """
    sig = obj.get("sig")
    if not sig:
        raise ProtocolError("message is not signed by its dock", code=AckCode.UNSIGNED)
    body = {k: v for k, v in obj.items() if k != "sig"}
    if not isinstance(sig, str) or not _verifies(sig, canonical_json(body), keys):
        raise ProtocolError("message signature is not its dock's", code=AckCode.BAD_SIGNATURE)


def public_key_text(key: Ed25519PublicKey) -> str:
    """The base64 of a public key's 32 raw bytes: how dispatch's config names a dock's key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def parse_public_key_text(text: str) -> Ed25519PublicKey:
    """The public key written by :func:`public_key_text`.

    Raises:
        ValueError: when ``text`` is not the base64 of 32 bytes.
    """
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except binascii.Error as exc:
        raise ValueError("an Ed25519 public key is the base64 of 32 bytes") from exc
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


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
        raise ConfigError(f"public key {path} cannot be used: {exc}") from exc
    end = b"-----END PUBLIC KEY-----"
    blocks = [b + end for b in text.split(end) if b.strip()]
    keys = []
    for block in blocks:
        try:
            key = serialization.load_pem_public_key(block.strip())
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"public key {path} cannot be used: {exc}") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise ConfigError(f"public key {path} holds a key that is not Ed25519")
        keys.append(key)
    if not keys:
        raise ConfigError(f"public key {path} holds no key")
    return keys


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read a PEM Ed25519 public key (the first, when the file holds several).

    Raises:
        ConfigError: when the file is missing or holds no Ed25519 public key.
    """
    return load_public_keys(path)[0]
