"""The ``[evidence]`` section of the edge config: where and how recordings are uploaded."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["EvidenceUploadConfig"]


class EvidenceUploadConfig(BaseModel):
    """Upload of the recordings (``[video.recording] dir``) to dispatch after each sortie.

    ``url`` and ``token`` default to the video uplink's (``[video.uplink]``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    upload: bool = Field(True, title="Upload recordings after landing")
    url: str | None = Field(None, pattern=r"^(https?|wss?)://", title="Dispatch base URL")
    token: SecretStr | None = Field(None, title="Bearer token of this dock")
    chunk_bytes: int = Field(1 << 20, ge=1024, le=8 << 20, title="Bytes per PATCH")
    timeout_s: float = Field(30.0, gt=0, le=600, title="Each request's time limit")
    backoff_s: tuple[float, float] = Field((2.0, 300.0), title="First and largest retry wait")
    keep_after_upload: bool = Field(
        False, title="Keep the segment files once dispatch has verified them"
    )
