"""OpenVINO plugin: the per-frame hot path on Intel CPUs, for ONNX files and OpenVINO IR."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from edge.detect.api import BaseDetectorConfig, DetectionApi, parse_names
from edge.detect.layout import check_output, model_corrupt
from edge.errors import DetectorError

if importlib.util.find_spec("openvino") is None:
    raise ImportError("openvino is not installed")

__all__ = ["KEY", "OpenVinoConfig", "OpenVinoDetector"]

KEY: Final = "openvino"


class OpenVinoConfig(BaseDetectorConfig):
    """OpenVINO settings."""

    type: Literal["openvino"] = KEY
    device: str = Field("CPU", title="OpenVINO device (CPU, GPU, AUTO)")
    precision: Literal["auto", "f32", "bf16", "f16"] = Field(
        "auto", title="Inference precision; auto lets the device choose (bf16 on AMX CPUs)"
    )


def _names(model: Any, path: Path) -> dict[int, str]:
    """Class names from ONNX metadata, Ultralytics' IR rt_info, or its metadata.yaml."""
    for key in (["framework", "names"], ["model_info", "names"]):
        if model.has_rt_info(key):
            return parse_names(model.get_rt_info(key).astype(str), path)
    meta = path.with_name("metadata.yaml")
    if meta.is_file():
        import yaml  # type: ignore[import-untyped]

        return parse_names(yaml.safe_load(meta.read_text()).get("names"), path)
    return parse_names("", path)


class OpenVinoDetector(DetectionApi):
    """A YOLO model (ONNX or IR) compiled and run by OpenVINO."""

    key = KEY

    def __init__(self, config: OpenVinoConfig) -> None:
        import openvino as ov

        path = config.model_path()
        if path.suffix.lower() not in {".onnx", ".xml"}:
            raise DetectorError(
                f"OpenVINO runs .onnx and .xml models, not {path.name}; export one with "
                "Ultralytics (yolo export format=openvino) or choose another detector type",
                code="model_unsupported",
            )
        props: dict[str, Any] = {
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": config.inference_threads(),
        }
        if config.precision != "auto":
            props["INFERENCE_PRECISION_HINT"] = config.precision
        try:
            core = ov.Core()
            model = core.read_model(str(path))
            names = _names(model, path)
            in_shape = list(model.inputs[0].get_partial_shape().to_shape())
            out_shape = list(model.outputs[0].get_partial_shape().to_shape())
            compiled = core.compile_model(model, config.device, props)
        except DetectorError:
            raise
        except Exception as exc:  # the runtime's own error types vary by version
            raise model_corrupt(path, exc) from exc
        size = check_output(
            path, [int(d) for d in in_shape], [int(d) for d in out_shape], len(names)
        )
        self._request = compiled.create_infer_request()
        super().__init__(config, path, names, size)

    def infer(self, tensor: NDArray[np.float32]) -> NDArray[np.float32]:
        """One forward pass."""
        out = self._request.infer({0: tensor})
        return np.asarray(next(iter(out.values())), dtype=np.float32)
