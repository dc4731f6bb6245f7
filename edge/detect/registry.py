"""Detector plugins found at import, the config union that picks one, and automatic choice.

Every module in :mod:`edge.detect.plugins` defines ``KEY``, a config class with
``type: Literal[KEY]`` and a detector class with ``key = KEY``. A plugin whose runtime is not
installed raises ``ImportError`` at import; it is logged and left out, and a config naming it
is refused (``driver_missing``) with what to install: a dock's install has ONNX Runtime and
OpenVINO, Ultralytics (and the PyTorch it pulls) is the ``outrider[ultralytics]`` extra.
"""

from __future__ import annotations

import logging
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from edge.detect import plugins
from edge.detect.api import BaseDetectorConfig, Detector
from edge.drivers import DRIVER_MISSING, config_class, import_plugins
from edge.errors import DetectorError

__all__ = [
    "INSTALL",
    "PLUGINS",
    "AutoDetectorConfig",
    "DetectorConfig",
    "Plugin",
    "choose_runtime",
    "is_intel_cpu",
    "load_detector",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Plugin:
    """One installed detector runtime."""

    key: str
    config: type[BaseDetectorConfig]
    detector: type[Any]


def _discover() -> dict[str, Plugin]:
    found: dict[str, Plugin] = {}
    for module in import_plugins(plugins.__name__, "detector plugin"):
        key = module.KEY
        config = config_class(module, BaseDetectorConfig)
        detector = next(
            c
            for c in vars(module).values()
            if isinstance(c, type) and getattr(c, "key", None) == key
        )
        assert config is not None, f"{module.__name__} defines no config class"
        found[key] = Plugin(key, config, detector)
    return found


PLUGINS: dict[str, Plugin] = _discover()
"""Installed plugins by key, e.g. ``onnxruntime``, ``openvino``, ``ultralytics``."""

INSTALL: dict[str, str] = {
    "onnxruntime": "pip install onnxruntime",
    "openvino": "pip install openvino",
    "ultralytics": "pip install 'outrider[ultralytics]'",
}
"""What to install for each runtime Outrider has a plugin for."""


def _not_installed(key: str) -> str:
    return f"detector runtime {key!r} is not installed here ({INSTALL[key]}); installed: " + (
        ", ".join(sorted(PLUGINS)) or "none"
    )


def _installed(value: Any) -> Any:
    """Refuse a config naming a known runtime that is not installed, saying what to install."""
    if isinstance(value, dict):
        key = value.get("type")
        if key in INSTALL and key not in PLUGINS:
            raise PydanticCustomError(DRIVER_MISSING, _not_installed(key))
    return value


class AutoDetectorConfig(BaseDetectorConfig):
    """Let Outrider pick the fastest installed runtime for the model file."""

    type: Literal["auto"] = "auto"


if TYPE_CHECKING:
    DetectorConfig = BaseDetectorConfig
else:
    _configs = (AutoDetectorConfig, *(p.config for p in PLUGINS.values()))
    _union = Union[_configs]  # noqa: UP007 - built from a tuple at run time
    DetectorConfig = Annotated[_union, Field(discriminator="type"), BeforeValidator(_installed)]
"""The ``video.detector`` config: validating it picks the plugin by ``type``."""


def is_intel_cpu() -> bool:
    """Whether this machine's CPU is Intel's (where OpenVINO is the fastest CPU runtime)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return "GenuineIntel" in line
    except OSError:
        pass
    return "intel" in platform.processor().lower()


def choose_runtime(model: Path, *, intel: bool | None = None) -> str:
    """The plugin key to run ``model`` with: OpenVINO on Intel, ONNX Runtime elsewhere.

    Formats only Ultralytics runs (``.pt``, ``.engine``, ...) go to its predictor.

    Raises:
        DetectorError: ``runtime_missing`` when no installed runtime runs the format.
    """
    suffix = model.suffix.lower()
    intel = is_intel_cpu() if intel is None else intel
    if suffix == ".onnx":
        order = ["openvino", "onnxruntime"] if intel else ["onnxruntime", "openvino"]
        order.append("ultralytics")
    elif suffix == ".xml":
        order = ["openvino"]
    else:
        order = ["ultralytics"]
    for key in order:
        if key in PLUGINS:
            return key
    how = " or ".join(f"{k} ({INSTALL[k]})" for k in order)
    raise DetectorError(
        f"no installed runtime runs {model.name}: install {how}", code="runtime_missing"
    )


def load_detector(config: BaseDetectorConfig) -> Detector:
    """Load the detector a config asks for; ``auto`` picks the runtime by :func:`choose_runtime`.

    Raises:
        DetectorError: ``model_missing``, ``model_corrupt``, ``model_unsupported`` or
            ``runtime_missing``; each reason says what to provide.
    """
    key = config.type
    if key == "auto":
        key = choose_runtime(config.model_path())
    plugin = PLUGINS.get(key)
    if plugin is None:
        reason = (
            _not_installed(key)
            if key in INSTALL
            else f"there is no detector runtime {key!r}; installed: {sorted(PLUGINS)}"
        )
        raise DetectorError(reason, code="runtime_missing")
    if not isinstance(config, plugin.config):
        shared = config.model_dump(include=set(BaseDetectorConfig.model_fields) - {"type"})
        config = plugin.config.model_validate({**shared, "type": key})
    detector: Detector = plugin.detector(config)
    logger.info("detector %s loaded %s", key, getattr(detector, "path", ""))
    return detector
