"""The real detector on real photographs: what it finds, runtimes agreeing, and bad models."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from edge.detect import (
    PLUGINS,
    AutoDetectorConfig,
    Detection,
    DetectorConfig,
    choose_runtime,
    load_detector,
)
from edge.detect.reference import TorchReference, torch_reference_available
from edge.errors import DetectorError
from outrider.cli import main
from tests.video.conftest import read_image


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def classes(found: list[Detection]) -> Counter[str]:
    return Counter(d.cls for d in found)


@pytest.fixture(scope="module")
def detector(model_path: Path):
    d = load_detector(AutoDetectorConfig(model=model_path))
    yield d
    d.close()


@pytest.fixture(scope="module")
def reference(model_path: Path) -> TorchReference:
    why = torch_reference_available(model_path)
    if why:
        pytest.skip(why)
    return TorchReference(model_path, conf=0.25, iou=0.45)


def test_bus_photo_shows_at_least_three_people_and_a_bus(detector, assets: Path) -> None:
    found = classes(detector.detect(read_image(assets / "bus.jpg")))
    assert found["person"] >= 3
    assert found["bus"] >= 1


def test_zidane_photo_shows_at_least_two_people(detector, assets: Path) -> None:
    found = classes(detector.detect(read_image(assets / "zidane.jpg")))
    assert found["person"] >= 2


@pytest.mark.parametrize("runtime", sorted(PLUGINS))
@pytest.mark.parametrize("photo", ["bus.jpg", "zidane.jpg"])
def test_every_installed_runtime_agrees_with_the_ultralytics_pytorch_predictor(
    runtime: str, photo: str, model_path: Path, assets: Path, reference: TorchReference
) -> None:
    image = read_image(assets / photo)
    expected = reference.detect(image)
    detector = load_detector(PLUGINS[runtime].config(model=model_path))
    got = detector.detect(image)
    assert expected, "the reference found nothing to compare with"
    assert sorted(d.cls for d in got) == sorted(d.cls for d in expected)
    for want in expected:
        best = max(iou(want.box, d.box) for d in got if d.cls == want.cls)
        assert best >= 0.9, (runtime, want, got)


def test_auto_runs_onnx_on_openvino_on_intel_and_on_onnx_runtime_elsewhere() -> None:
    onnx = Path("m.onnx")
    if {"openvino", "onnxruntime"} <= PLUGINS.keys():
        assert choose_runtime(onnx, intel=True) == "openvino"
        assert choose_runtime(onnx, intel=False) == "onnxruntime"
    if "ultralytics" in PLUGINS:
        assert choose_runtime(Path("m.pt"), intel=True) == "ultralytics"


def test_the_config_type_picks_the_plugin_and_refuses_unknown_types() -> None:
    adapter: TypeAdapter[object] = TypeAdapter(DetectorConfig)
    for key in PLUGINS:
        assert isinstance(adapter.validate_python({"type": key}), PLUGINS[key].config)
    assert isinstance(adapter.validate_python({"type": "auto"}), AutoDetectorConfig)
    with pytest.raises(ValidationError):
        adapter.validate_python({"type": "fake"})
    with pytest.raises(ValidationError):
        adapter.validate_python({"type": "auto", "confidence": 0.5})


def test_a_missing_model_is_a_clear_error_naming_what_to_provide(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("OUTRIDER_MODEL", raising=False)
    with pytest.raises(DetectorError) as unset:
        load_detector(AutoDetectorConfig())
    assert unset.value.code == "model_missing"
    assert "OUTRIDER_MODEL" in unset.value.reason and ".onnx" in unset.value.reason
    with pytest.raises(DetectorError) as absent:
        load_detector(AutoDetectorConfig(model=tmp_path / "yolo.onnx"))
    assert absent.value.code == "model_missing"
    assert str(tmp_path / "yolo.onnx") in absent.value.reason


@pytest.mark.parametrize("runtime", sorted(PLUGINS))
def test_a_corrupt_model_is_a_clear_error_on_every_runtime(
    runtime: str, model_path: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(model_path.read_bytes()[:50_000])
    with pytest.raises(DetectorError) as err:
        load_detector(PLUGINS[runtime].config(model=broken))
    assert err.value.code == "model_corrupt"
    assert str(broken) in err.value.reason and "provide" in err.value.reason


def test_a_class_filter_keeps_only_the_named_classes(model_path: Path, assets: Path) -> None:
    detector = load_detector(AutoDetectorConfig(model=model_path, classes=["bus"]))
    assert set(classes(detector.detect(read_image(assets / "bus.jpg")))) == {"bus"}
    with pytest.raises(DetectorError) as err:
        load_detector(AutoDetectorConfig(model=model_path, classes=["unicorn"]))
    assert err.value.code == "invalid_config"


def test_detect_command_prints_one_json_object_per_image(
    model_path: Path, assets: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images = [str(assets / "bus.jpg"), str(assets / "zidane.jpg")]
    assert main(["detect", *images, "--model", str(model_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["image"] for r in report] == images
    assert sum(o["cls"] == "person" for o in report[0]["objects"]) >= 3
    first = report[0]["objects"][0]
    assert set(first) == {"cls", "conf", "bbox"} and len(first["bbox"]) == 4


def test_detect_command_reports_an_unreadable_image_and_fails(
    model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not a picture")
    assert main(["detect", str(junk), "--model", str(model_path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report[0]["image"] == str(junk) and "error" in report[0]
