"""The evidence bundle's format: a zip whose ``manifest.json`` lists every other file with
its size and SHA-256, signed with dispatch's Ed25519 key in ``manifest.sig``.

Layout::

    manifest.json              what is inside, who exported it, when and why, each file's hash
    manifest.sig               base64 Ed25519 signature over the bytes of manifest.json
    public_key.pem             dispatch's public key (check it against one you trust)
    incident.json  timeline.json  audit.json  detections.json  track.geojson
    original/<sortie>/manifest.json   the edge's manifest, as received
    original/<sortie>/<segment>       every segment, as recorded
    release/<sortie>/<segment>.mp4    the redacted release copy of each segment
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "BUNDLE_VERSION",
    "MANIFEST",
    "PUBLIC_KEY",
    "SIGNATURE",
    "BundleWriter",
]

BUNDLE_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public_key.pem"
BLOCK = 1 << 20


@dataclass
class BundleWriter:
    """Writes a bundle file by file, hashing as it goes; :meth:`close` signs the manifest.

    Args:
        path: the zip to write.
        key: dispatch's signing key.
        header: what the manifest says besides the files (incident, who, when, why).
    """

    path: Path
    key: Ed25519PrivateKey
    header: dict[str, Any]
    files: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._zip = zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        public = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.add_bytes(PUBLIC_KEY, public)

    def add_bytes(self, name: str, data: bytes) -> None:
        """Add a small file."""
        self._zip.writestr(name, data)
        self.files.append(
            {"path": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        )

    def add_json(self, name: str, value: Any) -> None:
        """Add a JSON document (indented, UTF-8)."""
        text = json.dumps(value, indent=1, ensure_ascii=False, default=str)
        self.add_bytes(name, text.encode())

    def add_stream(self, name: str, blocks: Iterable[bytes], **meta: Any) -> str:
        """Add a large file from blocks, stored uncompressed (video is already compressed);
        returns its SHA-256."""
        digest, size = hashlib.sha256(), 0
        info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
        info.compress_type = zipfile.ZIP_STORED
        with self._zip.open(info, "w", force_zip64=True) as out:
            for block in blocks:
                digest.update(block)
                size += len(block)
                out.write(block)
        self.files.append({"path": name, "bytes": size, "sha256": digest.hexdigest(), **meta})
        return digest.hexdigest()

    def add_file(self, name: str, path: Path, **meta: Any) -> str:
        """Add a file from disk; returns its SHA-256."""
        with path.open("rb") as f:
            return self.add_stream(name, iter(lambda: f.read(BLOCK), b""), **meta)

    def close(self) -> dict[str, Any]:
        """Write the manifest and its signature; returns the manifest."""
        manifest = {"v": BUNDLE_VERSION, **self.header, "files": self.files}
        body = json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False).encode()
        self._zip.writestr(MANIFEST, body)
        self._zip.writestr(SIGNATURE, base64.b64encode(self.key.sign(body)) + b"\n")
        self._zip.close()
        return manifest

    def abort(self) -> None:
        """Close and remove a bundle that could not be finished."""
        self._zip.close()
        self.path.unlink(missing_ok=True)
