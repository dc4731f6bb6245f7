"""The edge's durable memory in one SQLite file: the outbox, handled command ids, the sortie.

- **Outbox**: every QoS 1 message (events, acks) is written here before it is published and
  removed only after the broker's PUBACK, so a broker outage or a crash loses nothing and the
  messages go out in the order they were written.
- **Command log**: the id of every command this dock has decided on, so a command is carried
  out at most once, across restarts.
- **Sortie record**: the sortie in progress, so a restarted edge knows what it was doing.
- **Sortie events**: every numbered event of the recent sorties, so one that dispatch says it
  missed (a ``resend`` command) can be sent again, long after the broker acknowledged it.

Writes use WAL journaling: a committed row survives the process being killed.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from edge.errors import ConfigError

__all__ = ["CommandRecord", "Outbox", "OutboxEntry"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    code TEXT NOT NULL,
    signed INTEGER NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sortie_events (
    sortie_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (sortie_id, seq)
);
CREATE TABLE IF NOT EXISTS memory (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
COMMAND_RETENTION_S = 30 * 24 * 3600
SORTIE_EVENTS_RETENTION_S = 7 * 24 * 3600


@dataclass(frozen=True)
class OutboxEntry:
    """One message waiting for the broker's acknowledgement."""

    seq: int
    topic: str
    payload: bytes
    qos: int


@dataclass(frozen=True)
class CommandRecord:
    """What this dock decided on a command id, and when (Unix time)."""

    id: str
    type: str
    code: str
    signed: bool
    at: float


class Outbox:
    """The SQLite store of one edge (``<state_dir>/edge.sqlite3``), as a context manager.

    Args:
        path: the database file; its folder is created when missing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        """Open (and create) the database.

        Raises:
            ConfigError: when the state directory cannot hold it.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"state directory cannot hold {self.path}: {exc}") from exc
        self._db = db
        self._prune()

    def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the outbox is not open")
        return self._db

    # -- outbox -------------------------------------------------------------------------------

    def put(self, topic: str, payload: bytes, qos: int = 1) -> int:
        """Store a message to publish; returns its sequence number (publish order)."""
        cur = self.db.execute(
            "INSERT INTO outbox (topic, payload, qos, created) VALUES (?, ?, ?, ?)",
            (topic, payload, qos, time.time()),
        )
        return int(cur.lastrowid or 0)

    def pending(self, limit: int = 100) -> list[OutboxEntry]:
        """The oldest messages not yet acknowledged, in order."""
        rows = self.db.execute(
            "SELECT seq, topic, payload, qos FROM outbox ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        return [OutboxEntry(int(s), str(t), bytes(p), int(q)) for s, t, p, q in rows]

    def remove(self, seq: int) -> None:
        """Forget a message once the broker has acknowledged it."""
        self.db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def __len__(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    # -- command log --------------------------------------------------------------------------

    def command(self, cmd_id: str) -> CommandRecord | None:
        """What was decided on ``cmd_id``, if this dock has seen it before."""
        row = self.db.execute(
            "SELECT id, type, code, signed, at FROM commands WHERE id = ?", (cmd_id,)
        ).fetchone()
        if row is None:
            return None
        return CommandRecord(str(row[0]), str(row[1]), str(row[2]), bool(row[3]), float(row[4]))

    def claim_command(self, cmd_id: str, kind: str, *, signed: bool) -> bool:
        """Record that ``cmd_id`` is being decided on; False when it was seen before."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO commands (id, type, code, signed, at) VALUES (?, ?, ?, ?, ?)",
            (cmd_id, kind, "in_progress", int(signed), time.time()),
        )
        return cur.rowcount == 1

    def settle_command(self, cmd_id: str, code: str) -> None:
        """Record the decision on a claimed command id."""
        self.db.execute("UPDATE commands SET code = ? WHERE id = ?", (code, cmd_id))

    def _prune(self) -> None:
        now = time.time()
        self.db.execute("DELETE FROM commands WHERE at < ?", (now - COMMAND_RETENTION_S,))
        self.db.execute(
            "DELETE FROM sortie_events WHERE at < ?", (now - SORTIE_EVENTS_RETENTION_S,)
        )

    # -- sortie events ------------------------------------------------------------------------

    def keep_event(self, sortie_id: str, seq: int, event: str) -> None:
        """Keep a sortie's numbered event (its JSON) for sending again."""
        self.db.execute(
            "INSERT OR REPLACE INTO sortie_events (sortie_id, seq, event, at) VALUES (?, ?, ?, ?)",
            (sortie_id, seq, event, time.time()),
        )

    def kept_events(self, sortie_id: str, seqs: list[int]) -> list[str]:
        """The kept events of ``sortie_id`` numbered ``seqs``, in order (those still kept)."""
        marks = ",".join("?" * len(seqs))
        rows = self.db.execute(
            f"SELECT event FROM sortie_events WHERE sortie_id = ? AND seq IN ({marks}) "
            "ORDER BY seq",
            (sortie_id, *seqs),
        ).fetchall()
        return [str(r[0]) for r in rows]

    # -- memory -------------------------------------------------------------------------------

    def save(self, key: str, value: dict[str, Any] | None) -> None:
        """Remember a JSON object under ``key`` (``None`` forgets it)."""
        if value is None:
            self.db.execute("DELETE FROM memory WHERE key = ?", (key,))
            return
        self.db.execute(
            "INSERT INTO memory (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value, separators=(",", ":"))),
        )

    def load(self, key: str) -> dict[str, Any] | None:
        """The object remembered under ``key``, if any (``None`` when unreadable)."""
        row = self.db.execute("SELECT value FROM memory WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            value = json.loads(row[0])
        except ValueError:
            return None
        return value if isinstance(value, dict) else None
