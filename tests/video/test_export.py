"""Model handling: an Ultralytics checkpoint exported offline runs on the fast runtimes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.detect import PLUGINS, load_detector
from edge.detect.export import export_model
from edge.errors import DetectorError
from outrider.cli import main

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A YOLOv8n checkpoint built from Ultralytics' own model file (untrained, no download)."""
    if "ultralytics" not in PLUGINS:
        pytest.skip("ultralytics is not installed")
    from ultralytics import YOLO  # type: ignore[attr-defined]

    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    YOLO("yolov8n.yaml", task="detect").save(str(path))
    return path


def names_of(checkpoint: Path) -> dict[int, str]:
    from ultralytics import YOLO  # type: ignore[attr-defined]

    return dict(YOLO(str(checkpoint)).names)


def test_an_exported_checkpoint_runs_on_onnx_runtime_with_its_class_names(
    checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export-model", str(checkpoint), "--imgsz", "96"]) == 0
    onnx = Path(capsys.readouterr().out.strip())
    assert onnx.suffix == ".onnx" and onnx.is_file()
    detector = load_detector(PLUGINS["onnxruntime"].config.model_validate({"model": onnx}))
    assert len(detector.names) == 80 and detector.names == names_of(checkpoint)
    assert isinstance(detector.detect(np.zeros((120, 160, 3), dtype=np.uint8)), list)


def test_the_checkpoint_itself_runs_on_the_ultralytics_plugin(checkpoint: Path) -> None:
    detector = load_detector(PLUGINS["ultralytics"].config.model_validate({"model": checkpoint}))
    assert dict(detector.names) == names_of(checkpoint)
    assert isinstance(detector.detect(np.zeros((120, 160, 3), dtype=np.uint8)), list)


def test_exporting_a_missing_or_broken_checkpoint_says_what_to_provide(tmp_path: Path) -> None:
    with pytest.raises(DetectorError) as missing:
        export_model(tmp_path / "none.pt")
    assert missing.value.code == "model_missing" and ".pt" in missing.value.reason
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(DetectorError) as bad:
        export_model(broken)
    assert bad.value.code == "model_corrupt"
