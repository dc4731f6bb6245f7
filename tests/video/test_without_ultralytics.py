"""A dock's install has no Ultralytics (nor the PyTorch it pulls): ONNX detection works, the rest
of what needs it refuses with a coded error naming the ``outrider[ultralytics]`` extra.

Each test runs a Python process in which ``ultralytics``, ``torch`` and ``onnx2torch`` are
absent (``sys.modules[name] = None``: neither importable nor found), as in a plain
``pip install outrider``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[2]
EXTRA = "pip install 'outrider[ultralytics]'"

WITHOUT = """
import sys
for name in ("ultralytics", "torch", "torchvision", "onnx2torch"):
    sys.modules[name] = None
"""

CLI = (
    WITHOUT
    + """
from outrider.cli import main
code = main(sys.argv[1:])
assert "torch" not in {m.split(".")[0] for m in sys.modules if sys.modules[m] is not None}
sys.exit(code)
"""
)


def run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True, timeout=90
    )


def test_onnx_detection_runs_without_ultralytics(model_path: Path, assets: Path) -> None:
    done = run(CLI, "detect", "--json", "--model", str(model_path), str(assets / "bus.jpg"))
    assert done.returncode == 0, done.stderr
    (report,) = json.loads(done.stdout)
    assert {"person", "bus"} <= {o["cls"] for o in report["objects"]}


def test_a_pt_model_or_the_ultralytics_runtime_is_refused_naming_the_extra(
    tmp_path: Path, assets: Path
) -> None:
    checkpoint = tmp_path / "yolo11n.pt"
    checkpoint.write_bytes(b"not read")
    image = str(assets / "bus.jpg")
    auto = run(CLI, "detect", "--model", str(checkpoint), image)
    assert auto.returncode == 2 and "[runtime_missing]" in auto.stderr and EXTRA in auto.stderr
    named = run(CLI, "detect", "--runtime", "ultralytics", "--model", str(checkpoint), image)
    assert named.returncode == 2 and "[driver_missing]" in named.stderr
    assert EXTRA in named.stderr and "Traceback" not in named.stderr + auto.stderr


def test_export_and_the_synthetic_cameras_actors_say_which_extra_they_need(tmp_path: Path) -> None:
    checkpoint = tmp_path / "yolo11n.pt"
    checkpoint.write_bytes(b"not read")
    export = run(CLI, "export-model", str(checkpoint))
    assert export.returncode == 2 and "[runtime_missing]" in export.stderr
    assert EXTRA in export.stderr and "Traceback" not in export.stderr
    probe = (
        WITHOUT
        + """
from edge.detect.reference import torch_reference_available
from edge.errors import OutriderError
from sim.camera.sprites import assets_dir
try:
    assets_dir()
except OutriderError as exc:
    print(exc)
print(torch_reference_available(__import__("pathlib").Path("m.onnx")))
"""
    )
    done = run(probe)
    assert done.returncode == 0, done.stderr
    sprites, reference = done.stdout.splitlines()
    assert sprites.startswith("[assets_missing]") and EXTRA in sprites
    assert EXTRA in reference
