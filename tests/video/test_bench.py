"""``outrider bench video --json`` runs end to end and reports every figure the README quotes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from outrider.cli import main

pytestmark = pytest.mark.timeout(120)


def test_the_video_benchmark_reports_every_figure_as_json(
    model_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["bench", "video", "--json", "--model", str(model_path), "--frames", "6"]
    assert main([*args, "--seconds", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("pipeline_fps", "latency_ms_p50", "latency_ms_p95", "cpu_percent"):
        assert report[key] > 0, key
    assert report["default_runtime"] in report["bare_fps"]
    assert all(fps > 0 for fps in report["bare_fps"].values())
    assert report["pipeline_over_bare"] > 0
    assert "ultralytics_torch_fps" in report
