"""Evidence upload from the dock: after landing, each sortie's recordings go to dispatch over
a resumable transfer (:mod:`edge.protocol.evidence`), and stay on the dock until dispatch has
checked every hash."""

from edge.evidence.config import EvidenceUploadConfig
from edge.evidence.transport import HttpUploadTransport, OffsetMismatch, UploadTransport
from edge.evidence.uploader import RECEIPT, EvidenceUploader

__all__ = [
    "RECEIPT",
    "EvidenceUploadConfig",
    "EvidenceUploader",
    "HttpUploadTransport",
    "OffsetMismatch",
    "UploadTransport",
]
