"""The one exception handler: an ``OutriderError``'s code picks the status, the body is
``{code, reason}`` (plus the docks' reasons for ``no_dock_available``)."""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from dispatch.service_errors import LimitError, NoDockError, http_status
from edge.errors import OutriderError

__all__ = ["error_headers", "install_handlers"]

logger = logging.getLogger(__name__)


async def outrider_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OutriderError)
    status = http_status(exc)
    body: dict[str, object] = {"code": exc.code, "reason": exc.reason}
    if isinstance(exc, NoDockError):
        body["incident_id"] = exc.incident_id
        body["docks"] = [d.__dict__ for d in exc.docks]
    if status >= 500:
        logger.error("%s %s failed: %s", request.method, request.url.path, exc)
    return JSONResponse(body, status_code=status, headers=error_headers(exc, status))


def error_headers(exc: OutriderError, status: int) -> dict[str, str] | None:
    """What a refusal tells the client besides its body: how to sign in, when to try again."""
    if status == 401:
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, LimitError):
        return {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))}
    return None


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5]]
    body = {"code": "invalid_field", "reason": "; ".join(parts) or "invalid request"}
    return JSONResponse(body, status_code=422)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
        exc.status_code, "http_error"
    )
    return JSONResponse(
        {"code": code, "reason": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
    )


def install_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(OutriderError, outrider_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
