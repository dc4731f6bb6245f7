"""Reading a request body from outside with a size limit, before anything parses it."""

from __future__ import annotations

from starlette.requests import Request

from dispatch.service_errors import DispatchError

__all__ = ["read_body"]


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with ``payload_too_large`` once it passes ``limit`` bytes."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise DispatchError(f"body is over {limit} bytes", code="payload_too_large")
        chunks.append(chunk)
    return b"".join(chunks)
