"""How well the camera covers the scene: in view, actors found, location error, false tracks.

Plays scenarios headless through ``outrider demo`` (every part real: broker, dispatch, edge,
vehicle, synthetic camera, detector) and reads its report: per scenario, the share of the
frames captured on scene with the incident's pin in view, the actors with a track of their
kind within :data:`FOUND_WITHIN_M`, the median distance of those nearest tracks, and confirmed
tracks that match no actor per minute on scene.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["add_arguments", "measure", "report"]

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "scenarios"
SCENARIOS = ("at-the-pin", "one-incident")
FOUND_WITHIN_M = 5.0
TIMEOUT_S = 1800


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``outrider bench scene``."""
    parser.add_argument(
        "--scenario",
        action="append",
        metavar="FILE",
        help=f"scenario to play (repeatable); default: {', '.join(SCENARIOS)}",
    )
    parser.add_argument("--vehicle", choices=["sim", "px4"], default="sim")
    parser.add_argument("--px4-build", metavar="DIR", help="PX4 SITL build (with --vehicle px4)")
    parser.add_argument(
        "--speed-factor", type=float, default=10.0, help="sim vehicles only (PX4: real time)"
    )


def _play(path: Path, args: argparse.Namespace, state: Path) -> dict[str, Any]:
    cmd = [
        sys.executable, "-m", "outrider", "demo", "--headless", "--json", "--port", "0",
        "--scenario", str(path), "--state-dir", str(state), "--vehicle", args.vehicle,
    ]  # fmt: skip
    if args.vehicle == "sim":
        cmd += ["--speed-factor", str(args.speed_factor)]
    elif args.px4_build:
        cmd += ["--px4-build", args.px4_build]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    if not done.stdout.strip():
        raise RuntimeError(f"{path.name}: no report\n{done.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _figures(report: dict[str, Any]) -> dict[str, Any]:
    served = [i for i in report["incidents"] if i["outcome"] == "served"]
    actors = [a for i in served for a in i["actors"]]
    near = [a["nearest_m"] for a in actors if a["nearest_m"] is not None]
    found = [m for m in near if m <= FOUND_WITHIN_M]
    in_view = [i["scene_in_view"] for i in served if i["scene_in_view"] is not None]
    minutes = sum((i["times"]["on_scene_for_s"] or 0.0) for i in served) / 60.0
    false_tracks = sum(i["unmatched_tracks"] for i in served)
    return {
        "scenario": report["scenario"],
        "incidents_served": len(served),
        "scene_in_view": round(statistics.fmean(in_view), 4) if in_view else None,
        "actors_placed": len(actors),
        "actors_found": len(found),
        "median_error_m": round(statistics.median(found), 2) if found else None,
        "false_tracks": false_tracks,
        "false_tracks_per_min": round(false_tracks / minutes, 2) if minutes else None,
        "wall_s": report["wall_s"],
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Play each scenario and gather its figures."""
    paths = [Path(p) for p in args.scenario] if args.scenario else [
        CONFIGS / f"{name}.toml" for name in SCENARIOS
    ]  # fmt: skip
    runs = []
    with tempfile.TemporaryDirectory(prefix="outrider-bench-scene-") as tmp:
        for n, path in enumerate(paths):
            runs.append(_figures(_play(path, args, Path(tmp) / f"run-{n}")))
    return {
        "vehicle": args.vehicle,
        "speed_factor": args.speed_factor if args.vehicle == "sim" else 1.0,
        "found_within_m": FOUND_WITHIN_M,
        "scenarios": runs,
    }


def report(figures: dict[str, Any]) -> str:
    """The figures as one line per scenario."""
    lines = [f"vehicle {figures['vehicle']}, speed factor {figures['speed_factor']:g}"]
    for r in figures["scenarios"]:
        view = "-" if r["scene_in_view"] is None else f"{100 * r['scene_in_view']:.0f} %"
        lines.append(
            f"{r['scenario']}: scene in view {view}, "
            f"{r['actors_found']}/{r['actors_placed']} actors within "
            f"{figures['found_within_m']:g} m (median {r['median_error_m']} m), "
            f"{r['false_tracks']} false tracks ({r['false_tracks_per_min']}/min)"
        )
    return "\n".join(lines) + "\n"
