"""``outrider bench edge`` runs end to end with small counts and reports sane figures."""

from __future__ import annotations

import pytest

from outrider.bench.edge_latency import bench

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


async def test_the_edge_benchmark_measures_commands_launches_and_time_to_scene() -> None:
    figures = await bench(dispatches=3, launches=1, distance_m=300.0, speed_factor=20.0)
    for key in ("dispatch_to_ack", "ping_to_ack", "command_to_arm"):
        assert figures[key]["n"] == 3, key
        assert 0 < figures[key]["p50_ms"] <= figures[key]["p99_ms"] <= figures[key]["max_ms"]
    (airborne,) = figures["dispatch_to_airborne_s"]
    assert 3.0 < airborne < 30.0  # the lid alone takes 3 s
    scene = figures["time_to_scene"]
    assert 250 < scene["route_m"] < 300 and 0.9 <= scene["ratio"] < 1.5
