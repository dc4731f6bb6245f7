"""Keys of the tests: dispatch's pair and each dock's, made once per test run, as in service.

Edges in tests run with signing on (dispatch's public key and their own key, never the
development switch) unless a test is about that switch; commands the tests send are signed
with :func:`dispatch_key`, and what a scripted edge publishes with :func:`dock_key`.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dispatch.keys import dock_keys, init_keys
from edge.protocol import parse_command
from edge.protocol.signing import load_private_key, public_key_text, sign

__all__ = [
    "TEST_DOCKS",
    "dispatch_key",
    "dispatch_key_files",
    "dock_key",
    "dock_key_files",
    "registered",
    "signed",
    "signing_env",
]

# Every dock id the dispatch tests use, registered in their settings with its public key.
TEST_DOCKS = (
    "dock-01", "dock-02", "dock-03", "dock-h", "near", "far", "gone", "other", "remote", "weak",
    "a", "b",
)  # fmt: skip
_DIR = Path(tempfile.mkdtemp(prefix="outrider-test-keys-"))
atexit.register(shutil.rmtree, _DIR, True)


@functools.cache
def dispatch_key_files() -> tuple[Path, Path]:
    """Dispatch's private and public key files."""
    return init_keys(_DIR / "dispatch")


@functools.cache
def dock_key_files(dock_id: str) -> tuple[Path, Path]:
    """A dock's private and public key files."""
    return dock_keys(_DIR / "docks", dock_id)


def dispatch_key() -> Ed25519PrivateKey:
    return load_private_key(dispatch_key_files()[0])


@functools.cache
def dock_key(dock_id: str) -> Ed25519PrivateKey:
    return load_private_key(dock_key_files(dock_id)[0])


def registered(*dock_ids: str) -> list[dict[str, str]]:
    """``[[docks]]`` entries of dispatch's settings for ``dock_ids`` (every test dock if none)."""
    return [
        {"id": d, "public_key": public_key_text(dock_key(d).public_key())}
        for d in (dock_ids or TEST_DOCKS)
    ]


def signing_env(dock_id: str) -> dict[str, str]:
    """The environment that gives an ``outrider edge`` process the test keys of ``dock_id``."""
    return {
        "OUTRIDER_SIGNING__PUBLIC_KEY": str(dispatch_key_files()[1]),
        "OUTRIDER_SIGNING__KEY": str(dock_key_files(dock_id)[0]),
    }


def signed(cmd: dict[str, Any], key: Ed25519PrivateKey | None = None) -> dict[str, Any]:
    """``cmd`` as dispatch sends it: parsed, and signed with dispatch's key (or ``key``)."""
    command = sign(parse_command(json.dumps(cmd).encode()), key or dispatch_key())
    return json.loads(command.model_dump_json())  # type: ignore[no-any-return]
