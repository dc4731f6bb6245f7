"""The hash-chained audit log: how a row's hash is made and how a chain is checked.

Each row holds the hash of the row before it; its own hash covers its fields and that
previous hash. Editing a row breaks its hash, deleting one breaks the next row's link or the
sequence, and cutting the tail no longer matches the head the store keeps beside the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GENESIS", "AuditEntry", "AuditReport", "canonical", "entry_hash", "verify_chain"]

GENESIS = "0" * 64
MAX_PROBLEMS = 20


def canonical(detail: dict[str, Any]) -> str:
    """The stored text of a detail object: sorted keys, no spaces, so hashes are stable."""
    return json.dumps(
        detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log as stored."""

    seq: int
    at: str
    actor: str
    action: str
    subject: str
    detail: str
    prev_hash: str
    hash: str


def entry_hash(
    prev_hash: str, seq: int, at: str, actor: str, action: str, subject: str, detail: str
) -> str:
    """SHA-256 over the previous hash and the row's fields, as hex."""
    body = json.dumps(
        [prev_hash, seq, at, actor, action, subject, detail],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass
class AuditReport:
    """The outcome of checking the chain: ``ok`` and, when not, what broke where."""

    rows: int = 0
    ok: bool = True
    first_bad_seq: int | None = None
    problems: list[str] = field(default_factory=list)

    def fail(self, seq: int, problem: str) -> None:
        self.ok = False
        if self.first_bad_seq is None:
            self.first_bad_seq = seq
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


async def verify_chain(
    rows: AsyncIterable[AuditEntry], head: tuple[int, str] | None
) -> AuditReport:
    """Check every row in sequence order against its predecessor and the stored head.

    Args:
        rows: the audit rows in ascending ``seq``.
        head: the ``(seq, hash)`` the store recorded for the last row, ``None`` if empty.
    """
    report = AuditReport()
    prev_hash, expected_seq = GENESIS, 1
    async for row in rows:
        report.rows += 1
        if row.seq != expected_seq:
            report.fail(expected_seq, f"rows {expected_seq}..{row.seq - 1} are missing")
        if row.prev_hash != prev_hash:
            report.fail(row.seq, f"row {row.seq} does not link to the row before it")
        again = entry_hash(
            row.prev_hash, row.seq, row.at, row.actor, row.action, row.subject, row.detail
        )
        if again != row.hash:
            report.fail(row.seq, f"row {row.seq} was changed after it was written")
        prev_hash, expected_seq = row.hash, row.seq + 1
    last_seq = expected_seq - 1 if report.rows else 0
    head_seq = head[0] if head is not None else 0
    if head_seq > last_seq:
        report.fail(last_seq + 1, f"rows {last_seq + 1}..{head_seq} at the end were deleted")
    elif head_seq < last_seq:
        report.fail(head_seq + 1, f"rows after {head_seq} were added outside the log")
    elif head is not None and head[1] != prev_hash:
        report.fail(head_seq, f"row {head_seq} does not match the recorded head of the log")
    return report
