"""The busy hour, headless, on three docks with sim vehicles: its report against the events."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from dispatch.store.sql import SqlStore
from outrider.demo.scenario import Scenario
from tests.demo.conftest import BUSY_HOUR, REPO, demo_command

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

SPEED = float(os.environ.get("OUTRIDER_DEMO_TEST_SPEED", "10"))


async def run_busy_hour(state_dir: Path) -> tuple[int, dict[str, Any], str]:
    proc = await asyncio.create_subprocess_exec(
        *demo_command(
            "--headless", "--json", "--scenario", str(BUSY_HOUR), "--speed-factor", str(SPEED),
            "--state-dir", str(state_dir),
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 360)
    assert out, f"no report; stderr:\n{err.decode()[-3000:]}"
    return proc.returncode or 0, json.loads(out), err.decode()


async def stored_events(state_dir: Path, incident_id: str) -> list[dict[str, Any]]:
    """The incident's events as dispatch stored them, oldest first."""
    async with SqlStore(f"sqlite:///{state_dir / 'dispatch.db'}") as store:
        rows = await store.list_events(incident_id=incident_id, limit=1000)
    return sorted(rows, key=lambda r: r["at"])


def seconds(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


async def test_the_busy_hour_serves_every_reachable_incident_and_refuses_the_others_with_reasons(
    tmp_path: Path, busy_hour: Scenario
) -> None:
    state = tmp_path / "demo"
    status, report, log = await run_busy_hour(state)
    incidents = {r["name"]: r for r in report["incidents"]}
    summary = {name: (r["outcome"], r["dock_id"], r["refusal"]) for name, r in incidents.items()}
    assert status == 0 and report["ok"], f"{summary}\n{log[-3000:]}"
    assert report["docks"] == ["dock-01", "dock-02", "dock-03"] and report["vehicle"] == "sim"

    for spec in busy_hour.incidents:
        got = incidents[spec.name]
        if spec.expect == "served":
            assert got["outcome"] == "served", summary
            assert spec.expect_dock in (None, got["dock_id"])
        else:
            refusal = got["refusal"]
            assert got["outcome"] == "refused" and refusal["code"] == spec.expect_code
            assert len(refusal["docks"]) == 3, "every dock says why it cannot go"
    no_fly = incidents["senate-square-protest"]["refusal"]["docks"]
    assert any(d["code"] == "no_fly" and "Government quarter" in d["reason"] for d in no_fly)
    far = incidents["airport-crowd"]["refusal"]["docks"]
    assert any(d["code"] == "out_of_range" and "km away" in d["reason"] for d in far)

    waited = [
        r for r in incidents.values() if r["outcome"] == "served" and r["times"]["queued_s"] > 30
    ]
    assert len(waited) >= 2, "two incidents wait for a dock to come home"
    totals = report["totals"]
    served = [r for r in incidents.values() if r["outcome"] == "served"]
    assert (totals["served"], totals["refused"], totals["failed"]) == (len(served), 2, 0)
    assert totals["actors_placed"] == sum(len(r["actors"]) for r in served)
    assert totals["actors_detected"] == sum(r["actors_detected"] for r in served)
    if report["video"]:
        assert totals["actors_detected"] >= 1, "the cameras find actors around the incidents"
        # Tracks count against the nearest actor up to 20 m off (people printed on the bus
        # sprite among them), so it is the nearest track per actor that shows the ground fix.
        nearest = [a["nearest_m"] for r in served for a in r["actors"] if a["detected"]]
        assert min(nearest) < 5.0 and totals["location_error_m_mean"] < 10.0

    await check_against_events(state, served, busy_hour)


async def check_against_events(
    state: Path, served: list[dict[str, Any]], scenario: Scenario
) -> None:
    """Each served incident's figures are the differences of its stored events' times."""
    intervals = []
    on_scene_s = {i.name: i.on_scene_s for i in scenario.incidents}
    for r in served:
        events = await stored_events(state, r["incident_id"])
        assert {e["dock_id"] for e in events} == {r["dock_id"]}
        ours = [e["type"] for e in events]
        assert ours[: len(r["events"])] == r["events"]
        at = {e["type"]: e["at"] for e in events}
        wall = r["wall"]
        assert wall["on_scene_for_s"] == pytest.approx(
            seconds(at["on_scene"], at["returning"]), abs=0.01
        )
        assert wall["to_docked_s"] - wall["to_on_scene_s"] == pytest.approx(
            seconds(at["on_scene"], at["docked"]), abs=0.01
        )
        assert wall["to_on_scene_s"] - wall["to_airborne_s"] == pytest.approx(
            seconds(at["airborne"], at["on_scene"]), abs=0.01
        )
        assert 0 < wall["ack_s"] < wall["to_airborne_s"] < wall["to_on_scene_s"]
        # the edge stays the scenario's (scaled) time on scene
        assert r["times"]["on_scene_for_s"] == pytest.approx(on_scene_s[r["name"]], rel=0.1)
        intervals.append((at["airborne"], at["docked"]))
    intervals.sort()
    assert any(b[0] < a[1] for a, b in itertools.pairwise(intervals)), "overlap"
