"""The evidence upload over HTTP (httpx): dispatch's resumable upload endpoints."""

from __future__ import annotations

import asyncio
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
from pydantic import ValidationError

from edge.evidence.transport import OffsetMismatch, UploadError
from edge.protocol.evidence import OFFSET_HEADER, SegmentStatus, UploadStatus, upload_path
from edge.protocol.video import API_PREFIX

__all__ = ["HttpUploadTransport", "http_base"]


def http_base(url: str) -> str:
    """Dispatch's HTTP base URL from an http(s) or ws(s) URL."""
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, "", "", ""))


RATE_LIMIT_RETRIES = 5
MAX_RETRY_AFTER_S = 10.0


def _retry_after_s(response: httpx.Response) -> float:
    """The wait a 429 asks for, within reason (a missing or odd header waits one second)."""
    try:
        wait = float(response.headers.get("Retry-After", "1"))
    except ValueError:
        wait = 1.0
    return min(max(wait, 0.05), MAX_RETRY_AFTER_S)


class HttpUploadTransport:
    """The upload over HTTP to dispatch's ``/api/v1/evidence/uploads``; an async context
    manager owning one connection pool.

    Args:
        url: dispatch's base URL.
        dock_id: this dock.
        token: the dock's bearer token.
        timeout_s: each request's time limit.
    """

    def __init__(self, url: str, dock_id: str, token: str | None, timeout_s: float = 30.0):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.dock_id = dock_id
        self._client = httpx.AsyncClient(
            base_url=http_base(url) + API_PREFIX, headers=headers, timeout=timeout_s
        )

    async def __aenter__(self) -> HttpUploadTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    def _path(self, sortie_id: str, file: str | None = None) -> str:
        safe = (quote(self.dock_id, safe=""), quote(sortie_id, safe=""))
        return upload_path(*safe, quote(file, safe="") if file else None)

    async def _request(self, method: str, path: str, **kw: object) -> httpx.Response:
        """One request; a 429 is waited out as dispatch's ``Retry-After`` asks, a few times."""
        for _ in range(RATE_LIMIT_RETRIES):
            try:
                response = await self._client.request(method, path, **kw)  # type: ignore[arg-type]
            except httpx.HTTPError as exc:
                raise UploadError(
                    f"dispatch unreachable: {exc!r}", code="upload_unreachable"
                ) from exc
            if response.status_code != 429:
                return response
            await asyncio.sleep(_retry_after_s(response))
        return response

    async def _send(self, method: str, path: str, **kw: object) -> httpx.Response:
        response = await self._request(method, path, **kw)
        if response.status_code < 300:
            return response
        code, reason = "upload_failed", response.text[:300]
        try:
            body = response.json()
            code, reason = str(body.get("code", code)), str(body.get("reason", reason))
        except ValueError:
            pass
        if code == "offset_mismatch":
            raise OffsetMismatch(reason, None)
        raise UploadError(f"HTTP {response.status_code}: {reason}", code=code)

    async def put_manifest(self, sortie_id: str, manifest: bytes) -> UploadStatus:
        response = await self._send("PUT", self._path(sortie_id), content=manifest)
        try:
            return UploadStatus.model_validate_json(response.content)
        except ValidationError as exc:
            raise UploadError(f"unreadable answer to the manifest: {exc}") from None

    async def offset(self, sortie_id: str, file: str) -> int:
        response = await self._send("HEAD", self._path(sortie_id, file))
        try:
            return int(response.headers[OFFSET_HEADER])
        except (KeyError, ValueError):
            raise UploadError("dispatch did not say the offset") from None

    async def append(self, sortie_id: str, file: str, offset: int, data: bytes) -> SegmentStatus:
        response = await self._send(
            "PATCH",
            self._path(sortie_id, file),
            content=data,
            headers={OFFSET_HEADER: str(offset), "Content-Type": "application/offset+octet-stream"},
        )
        try:
            return SegmentStatus.model_validate_json(response.content)
        except ValidationError as exc:
            raise UploadError(f"unreadable answer to a chunk: {exc}") from None
