"""Object detection for the edge: one interface, runtimes as plugins, chosen per machine.

Usage::

    from edge.detect import AutoDetectorConfig, load_detector

    detector = load_detector(AutoDetectorConfig())  # model from $OUTRIDER_MODEL
    for d in detector.detect(bgr_frame):             # call from a worker thread
        print(d.cls, d.conf, d.box)

The model path comes from the config (``video.detector.model``) or ``$OUTRIDER_MODEL``; nothing
is ever downloaded. ``type = "auto"`` runs ONNX files on OpenVINO on Intel CPUs and on ONNX
Runtime elsewhere, and formats only Ultralytics runs (``.pt``, ``.engine``) on its predictor;
``type = "onnxruntime" | "openvino" | "ultralytics"`` forces one. A missing or corrupt model is
a :class:`~edge.errors.DetectorError` whose reason says what to provide.
"""

from edge.detect.api import MODEL_ENV, BaseDetectorConfig, Detection, Detector, Image
from edge.detect.registry import (
    PLUGINS,
    AutoDetectorConfig,
    DetectorConfig,
    choose_runtime,
    is_intel_cpu,
    load_detector,
)

__all__ = [
    "MODEL_ENV",
    "PLUGINS",
    "AutoDetectorConfig",
    "BaseDetectorConfig",
    "Detection",
    "Detector",
    "DetectorConfig",
    "Image",
    "choose_runtime",
    "is_intel_cpu",
    "load_detector",
]
