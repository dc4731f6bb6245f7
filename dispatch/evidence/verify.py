"""Offline check of an evidence bundle: the signature over its manifest, every file's SHA-256
and size, nothing missing and nothing added, and each audit row's own hash.

Needs nothing but the zip (and, to know who signed it, dispatch's public key): no store, no
network. :func:`verify_bundle` names every file that fails; ``ok`` only when all holds.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from dispatch.audit import entry_hash
from dispatch.evidence.bundle import MANIFEST, PUBLIC_KEY, SIGNATURE

__all__ = ["Failure", "VerifyReport", "verify_bundle"]

MAX_MANIFEST_BYTES = 16 << 20
# What reading a damaged or hostile zip can raise (zipfile refuses encryption and
# compressed-patched members with NotImplementedError or RuntimeError).
ZIP_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    EOFError,
    OSError,
    ValueError,
    struct.error,
)
JSON_ERRORS: tuple[type[BaseException], ...] = (*ZIP_ERRORS, TypeError, KeyError, RecursionError)
SIGNATURE_ERRORS: tuple[type[BaseException], ...] = (*ZIP_ERRORS, InvalidSignature, binascii.Error)
KEY_ERRORS: tuple[type[BaseException], ...] = (*ZIP_ERRORS, KeyError)
MAX_MEMBERS = 200_000
BLOCK = 1 << 20


@dataclass(frozen=True)
class Failure:
    """One thing that does not hold: the file and what is wrong with it."""

    file: str
    problem: str


@dataclass
class VerifyReport:
    """The outcome: ``ok`` only when there is no failure."""

    files_checked: int = 0
    signed_by: str = ""
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and self.files_checked > 0

    def fail(self, file: str, problem: str) -> None:
        self.failures.append(Failure(file, problem))


def _load_key(pem: bytes) -> Ed25519PublicKey | None:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    return key if isinstance(key, Ed25519PublicKey) else None


def _member_hash(zf: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with zf.open(name) as f:
        for block in iter(lambda: f.read(BLOCK), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def verify_bundle(path: Path, public_key: bytes | None = None) -> VerifyReport:
    """Check a bundle.

    Args:
        path: the zip.
        public_key: PEM of the key that must have signed it; without it, the key inside the
            bundle is used (which proves the bundle is whole, not who made it).
    """
    report = VerifyReport()
    try:
        with zipfile.ZipFile(path) as zf:
            _check(zf, report, public_key)
    except ZIP_ERRORS as exc:
        report.fail(path.name, f"not a readable zip: {exc}")
    return report


def _check(zf: zipfile.ZipFile, report: VerifyReport, public_key: bytes | None) -> None:
    names = zf.namelist()
    if len(names) > MAX_MEMBERS:
        report.fail("(bundle)", f"{len(names)} files; at most {MAX_MEMBERS}")
        return
    if len(set(names)) != len(names):
        report.fail("(bundle)", "a file name appears twice")
    manifest = _read_manifest(zf, report)
    if manifest is None:
        return
    _check_signature(zf, report, manifest[0], public_key)
    listed = _check_files(zf, report, manifest[1])
    for name in names:
        if name not in listed and name not in (MANIFEST, SIGNATURE):
            report.fail(name, "not listed in the manifest")
    if "audit.json" in listed:
        _check_audit(zf, report)


def _read(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise ValueError(f"{info.file_size} bytes; at most {limit}")
    with zf.open(info) as f:
        return f.read(limit + 1)[:limit]


def _read_manifest(
    zf: zipfile.ZipFile, report: VerifyReport
) -> tuple[bytes, list[dict[str, Any]]] | None:
    try:
        body = _read(zf, MANIFEST, MAX_MANIFEST_BYTES)
        manifest = json.loads(body)
        files = manifest["files"]
        if not isinstance(files, list) or not all(
            isinstance(f, dict)
            and isinstance(f.get("path"), str)
            and isinstance(f.get("sha256"), str)
            and isinstance(f.get("bytes"), int)
            for f in files
        ):
            raise ValueError("files is not a list of {path, bytes, sha256}")
    except KeyError:
        report.fail(MANIFEST, "missing, or has no list of files")
        return None
    except JSON_ERRORS as exc:
        report.fail(MANIFEST, f"unreadable: {str(exc)[:200]}")
        return None
    return body, files


def _check_signature(
    zf: zipfile.ZipFile, report: VerifyReport, body: bytes, public_key: bytes | None
) -> None:
    source = "--public-key" if public_key is not None else PUBLIC_KEY
    try:
        pem = public_key if public_key is not None else _read(zf, PUBLIC_KEY, 10_000)
    except KEY_ERRORS:
        report.fail(PUBLIC_KEY, "missing; pass --public-key")
        return
    key = _load_key(pem)
    if key is None:
        report.fail(source, "not an Ed25519 public key in PEM")
        return
    report.signed_by = source
    try:
        signature = base64.b64decode(_read(zf, SIGNATURE, 10_000).strip(), validate=True)
        key.verify(signature, body)
    except KeyError:
        report.fail(SIGNATURE, "missing: the bundle is not signed")
    except SIGNATURE_ERRORS:
        report.fail(
            MANIFEST, f"the signature in {SIGNATURE} does not verify with the key of {source}"
        )


def _check_files(
    zf: zipfile.ZipFile, report: VerifyReport, files: list[dict[str, Any]]
) -> set[str]:
    listed: set[str] = set()
    for entry in files:
        name = entry["path"]
        listed.add(name)
        try:
            digest, size = _member_hash(zf, name)
        except KeyError:
            report.fail(name, "listed in the manifest but missing")
            continue
        except ZIP_ERRORS as exc:
            report.fail(name, f"unreadable in the zip: {str(exc)[:200]}")
            continue
        report.files_checked += 1
        if size != entry["bytes"]:
            report.fail(name, f"{size} bytes; the manifest says {entry['bytes']}")
        if digest != entry["sha256"]:
            report.fail(name, f"SHA-256 {digest} differs from the manifest's {entry['sha256']}")
    return listed


def _check_audit(zf: zipfile.ZipFile, report: VerifyReport) -> None:
    """Each audit row's hash must be the hash of its own fields (the chain itself is checked
    against the live log by ``outrider audit verify``)."""
    try:
        rows = json.loads(_read(zf, "audit.json", MAX_MANIFEST_BYTES))
        for row in rows:
            again = entry_hash(
                row["prev_hash"], row["seq"], row["at"], row["actor"], row["action"],
                row["subject"], row["detail"],
            )  # fmt: skip
            if again != row["hash"]:
                report.fail("audit.json", f"audit row {row['seq']} does not match its hash")
    except JSON_ERRORS as exc:
        report.fail("audit.json", f"unreadable audit rows: {str(exc)[:200]}")
