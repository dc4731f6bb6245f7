"""The SQLite outbox: order kept, rows survive a reopen, command ids remembered."""

from __future__ import annotations

from pathlib import Path

from edge.outbox import Outbox


def test_messages_come_back_in_order_until_removed(tmp_path: Path) -> None:
    with Outbox(tmp_path / "e.sqlite3") as box:
        seqs = [box.put("t/events", f"m{i}".encode()) for i in range(5)]
        assert [e.payload for e in box.pending()] == [b"m0", b"m1", b"m2", b"m3", b"m4"]
        box.remove(seqs[0])
        box.remove(seqs[2])
        assert [e.payload for e in box.pending()] == [b"m1", b"m3", b"m4"]
        assert len(box) == 3


def test_pending_messages_and_command_ids_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "e.sqlite3"
    with Outbox(path) as box:
        box.put("t/ack", b"a")
        assert box.claim_command("c1", "dispatch", signed=False)
        box.settle_command("c1", "accepted")
        box.save("sortie", {"phase": "en_route"})
    with Outbox(path) as box:
        assert [e.payload for e in box.pending()] == [b"a"]
        record = box.command("c1")
        assert record is not None and record.code == "accepted" and record.type == "dispatch"
        assert not box.claim_command("c1", "dispatch", signed=False)
        assert box.load("sortie") == {"phase": "en_route"}
        box.save("sortie", None)
        assert box.load("sortie") is None
