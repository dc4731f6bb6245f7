"""``outrider bench video --json`` runs end to end and reports every figure the README quotes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from outrider.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def test_the_video_benchmark_reports_every_figure_as_json(
    model_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["bench", "video", "--json", "--model", str(model_path), "--frames", "6"]
    assert main([*args, "--seconds", "1", "--codec-seconds", "1", "--browser-seconds", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("pipeline_fps", "latency_ms_p50", "latency_ms_p95", "cpu_percent"):
        assert report[key] > 0, key
    assert report["default_runtime"] in report["bare_fps"]
    assert all(fps > 0 for fps in report["bare_fps"].values())
    assert report["pipeline_over_bare"] > 0
    assert "ultralytics_torch_fps" in report
    assert 0 < report["h264_kBps"] < report["jpeg_kBps"]
    assert report["edge_encode_ms"] > 0 and report["h264_psnr_db"] > 25
    if Path("/usr/bin/chromium").exists():
        assert report["browser_decoder"] == "webcodecs"
        assert 0 < report["browser_latency_ms_p50"] <= report["browser_latency_ms_p95"]


def test_the_fan_out_benchmark_profiles_dispatch_and_finds_no_decoding(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["bench", "dispatch", "--only", "video", "--viewers", "3", "--seconds", "2"]
    assert main([*args, "--profile", "--json"]) == 0
    video = json.loads(capsys.readouterr().out)["video"]
    assert video["viewer_fps_min"] > 0 and video["profile_total_s"] > 0
    assert video["profile_decode_calls"] == 0 and video["profile_top_own_time"]
