"""The public AI register: each AI component in use, described after the UK Algorithmic
Transparency Recording Standard (tier 1: who and what; tier 2: owner, description, decision
making, tool and model specification, data, risks). Dispatch fills in what it can measure —
the model file's SHA-256, its classes, the accuracy the project's own benchmark measured for
that very file — and the ``[public.ai]`` settings give the rest."""

from __future__ import annotations

import functools
import json
import logging
import os
from pathlib import Path
from typing import Any

from dispatch.evidence.config import EvidenceConfig, PublicConfig
from edge.detect import MODEL_ENV, AutoDetectorConfig, load_detector
from edge.errors import OutriderError
from edge.video.record import sha256_file

__all__ = ["ATRS_VERSION", "ai_register", "model_facts"]

logger = logging.getLogger(__name__)

ATRS_VERSION = "UK Algorithmic Transparency Recording Standard, template 3.0"
HUMAN_DECISIONS = [
    "A control-room dispatcher decides to raise an incident; dock choice and launch follow "
    "rules (range, airspace, battery, weather), not the detector.",
    "Detections only annotate the video and place markers on the map; officers decide what, "
    "if anything, to do about what they see.",
    "Recall, retask and abort are always in a person's hands.",
    "Release of any recording is decided by an evidence officer; the redacted copy is checked "
    "before release.",
]


@functools.lru_cache(maxsize=8)
def _facts(path: str, mtime: float) -> dict[str, Any]:
    classes: list[str] = []
    try:
        detector = load_detector(AutoDetectorConfig(model=Path(path)))
        classes = [detector.names[k] for k in sorted(detector.names)]
        detector.close()
    except OutriderError as exc:
        logger.warning("cannot read the classes of %s: %s", path, exc)
    return {"file": Path(path).name, "sha256": sha256_file(Path(path)), "classes": classes}


def model_facts(path: Path | None) -> dict[str, Any] | None:
    """File name, SHA-256 and classes of a model file (cached until the file changes)."""
    if path is None or not path.is_file():
        return None
    return _facts(str(path.resolve()), path.stat().st_mtime)


def _accuracy(report: Path | None, sha256: str | None) -> dict[str, Any]:
    if report is None or not report.is_file():
        return {"measured": False, "note": "no benchmark report configured"}
    try:
        figures = json.loads(report.read_text())
    except (OSError, ValueError) as exc:
        return {"measured": False, "note": f"benchmark report unreadable: {exc}"}
    if not isinstance(figures, dict) or figures.get("model_sha256") != sha256:
        return {"measured": False, "note": "the benchmark report is of another model file"}
    keep = ("benchmark", "dataset", "iou_threshold", "frames", "objects", "precision",
            "recall", "f1", "measured_at", "classes")  # fmt: skip
    return {"measured": True, **{k: figures[k] for k in keep if k in figures}}


def _detector_path(public: PublicConfig, evidence: EvidenceConfig) -> Path | None:
    raw = public.ai.detector_model or evidence.redaction.detector.model or os.environ.get(MODEL_ENV)
    return Path(raw) if raw else None


def ai_register(public: PublicConfig, evidence: EvidenceConfig) -> dict[str, Any]:
    """The register's JSON document."""
    ai = public.ai
    detector = model_facts(_detector_path(public, evidence))
    plates = evidence.redaction.plate_detector
    plate_facts = model_facts(plates.model) if plates is not None and plates.model else None
    owner = {
        "organisation": ai.organisation,
        "team": ai.team,
        "senior_responsible_owner": ai.senior_responsible_owner,
        "external_supplier": "none: open-source software run by the organisation",
    }
    tier_1 = {"contact": ai.contact, "phase": "production" if ai.deployed_since else "pilot"}
    records = [
        {
            "tier_1": {
                "name": "Object detection on drone video",
                "description": "Finds people and vehicles in the drone's live video and marks "
                "them on the control room's map.",
                **tier_1,
            },
            "tier_2": {
                "owner_and_responsibility": owner,
                "description_and_rationale": {
                    "purpose": "Help control-room staff and officers see quickly who and what "
                    "is at an incident before officers arrive.",
                    "scope": "Video from the force's dock drones, during a sortie only.",
                },
                "decision_making_process": {
                    "human_decisions": HUMAN_DECISIONS,
                    "automated_decisions": "none about people",
                },
                "model_specification": {
                    "model": detector,
                    "task": "object detection (bounding boxes and classes)",
                    "deployed_since": ai.deployed_since.isoformat() if ai.deployed_since else None,
                    "performance": _accuracy(ai.accuracy_report, (detector or {}).get("sha256")),
                },
                "data_specification": {
                    "input": "camera frames; nothing is kept unless recording is on",
                    "training_data": "COCO-pretrained public weights; no force data",
                },
                "risks_and_mitigations": {
                    "risks": ["missed or wrong detections", "intrusion on privacy"],
                    "mitigations": [
                        "detections are advisory and shown with their confidence",
                        "viewers outside the control room get redacted video only",
                        "recordings are deleted on schedule unless held as evidence",
                    ],
                },
            },
        },
        {
            "tier_1": {
                "name": "Automatic redaction",
                "description": "Pixelates people (and number plates, where a plate detector "
                "is configured) in video shown to viewers and in copies released from "
                "evidence.",
                **tier_1,
            },
            "tier_2": {
                "owner_and_responsibility": owner,
                "decision_making_process": {
                    "human_decisions": HUMAN_DECISIONS[3:],
                    "fails_closed": "a frame that cannot be redacted is not shown or released",
                },
                "model_specification": {
                    "model": detector,
                    "classes_redacted": list(evidence.redaction.classes),
                    "plate_model": plate_facts,
                    "method": "each box averaged down to a few cells (not reversible)",
                },
            },
        },
    ]
    return {"standard": ATRS_VERSION, "records": records}
