"""Reading a request body with a size limit of the route's own, before anything parses it."""

from __future__ import annotations

from starlette.requests import Request

from dispatch.service_errors import DispatchError

__all__ = ["read_body"]


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with ``too_large`` once it passes ``limit`` bytes."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise DispatchError(f"body over {limit} bytes", code="too_large")
        chunks.append(chunk)
    return b"".join(chunks)
