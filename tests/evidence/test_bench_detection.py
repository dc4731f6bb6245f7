"""The detection accuracy benchmark: truth from the synthetic camera, matching, the report."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from outrider.bench.detection_accuracy import iou, match, measure, report


def test_matching_counts_each_truth_once_and_ignores_what_is_too_small() -> None:
    truth = [(0.0, 0.0, 10.0, 20.0), (50.0, 0.0, 60.0, 20.0)]
    small = [(100.0, 100.0, 102.0, 104.0)]
    found = [(0.9, (0.0, 1.0, 10.0, 21.0)), (0.8, (1.0, 0.0, 10.0, 20.0)), (0.7, small[0]),
             (0.6, (200.0, 200.0, 210.0, 220.0))]  # fmt: skip
    assert match(truth, small, found, 0.5) == (1, 2, 1)
    assert iou(truth[0], truth[0]) == 1.0 and iou(truth[0], truth[1]) == 0.0


def test_the_benchmark_reports_the_models_hash_and_rates_it_measured(
    model_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "accuracy.json"
    args = argparse.Namespace(
        model=model_path, frames=12, iou=0.5, min_px=16, hfov=20.0, seed=3, out=out
    )
    figures = measure(args)
    assert json.loads(out.read_text()) == figures
    assert figures["model_sha256"] == hashlib.sha256(model_path.read_bytes()).hexdigest()
    person = figures["classes"]["person"]
    assert person["true_positives"] + person["missed"] > 0, "people in view"
    assert 0.0 <= figures["precision"] <= 1.0 and 0.0 <= figures["recall"] <= 1.0
    assert "person" in report(figures)
