"""A collision as it really looks, flown on the sim vehicle: the camera keeps the pin in the
picture, finds the bus and the people standing round it, and confirms no track of nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.demo.conftest import CONFIGS, REPO, demo_command

pytestmark = pytest.mark.timeout(300)

AT_THE_PIN = CONFIGS / "scenarios" / "at-the-pin.toml"


async def test_a_bus_and_four_people_at_the_pin_are_in_view_found_and_nothing_else_is(
    tmp_path: Path,
) -> None:
    proc = await asyncio.create_subprocess_exec(
        *demo_command(
            "--headless", "--json", "--scenario", str(AT_THE_PIN), "--speed-factor", "10",
            "--docks", "1", "--port", "0", "--state-dir", str(tmp_path / "demo"),
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 240)
    assert out, f"no report; stderr:\n{err.decode()[-3000:]}"
    report = json.loads(out)
    (incident,) = report["incidents"]
    assert incident["outcome"] == "served" and report["video"]
    assert incident["scene_in_view"] >= 0.95
    found = [a for a in incident["actors"] if a["nearest_m"] is not None and a["nearest_m"] <= 5]
    assert len(found) >= 4, incident["actors"]
    assert incident["unmatched_tracks"] == 0


def test_the_scene_benchmark_counts_actors_found_within_5_m_and_false_tracks_per_minute() -> None:
    from outrider.bench.scene_view import _figures

    def actor(nearest: float | None) -> dict[str, object]:
        return {"nearest_m": nearest}

    report = {
        "scenario": "s",
        "wall_s": 20.0,
        "incidents": [
            {
                "outcome": "served",
                "scene_in_view": 0.9,
                "actors": [actor(0.2), actor(4.0), actor(7.0), actor(None)],
                "times": {"on_scene_for_s": 120.0},
                "unmatched_tracks": 1,
            },
            {"outcome": "refused", "actors": [actor(1.0)], "scene_in_view": None},
        ],
    }
    figures = _figures(report)
    assert (figures["actors_found"], figures["actors_placed"]) == (2, 4)
    assert figures["median_error_m"] == 2.1 and figures["scene_in_view"] == 0.9
    assert figures["false_tracks_per_min"] == 0.5
