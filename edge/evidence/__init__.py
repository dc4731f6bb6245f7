"""Evidence upload from the dock: after landing, each sortie's recordings go to dispatch over
a resumable transfer (:mod:`edge.protocol.evidence`), and stay on the dock until dispatch has
checked every hash.

The HTTP transport (:mod:`edge.evidence.transport`, httpx) is imported where it is used, so
reading a dock's configuration never needs an HTTP client."""

from edge.evidence.config import EvidenceUploadConfig
from edge.evidence.uploader import RECEIPT, EvidenceUploader

__all__ = [
    "RECEIPT",
    "EvidenceUploadConfig",
    "EvidenceUploader",
]
