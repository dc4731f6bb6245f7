"""ASGI middleware in front of every route: the request guard and the security headers.

:class:`RequestGuard` refuses before any route runs or any body is read: a NUL byte in the
URL, an address over its request budget, a change (POST, PUT, PATCH, DELETE) to the API
without valid credentials, and a caller making changes faster than its budget. Bodies are
bounded by FastAPI's own ``max_body_size`` (counted as they are read, chunked ones too), so an
unauthenticated caller can make dispatch read nothing and an authenticated one at most the
limit. :class:`SecurityHeaders` gives every response a content security policy that allows
nothing from outside (but the map's tile server), no framing, no referrer (links carry
tokens), and HSTS when the request came over TLS.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi.responses import JSONResponse
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from dispatch.api.deps import authenticate
from dispatch.api.error_handlers import error_headers
from dispatch.runtime import Runtime
from dispatch.service_errors import DispatchError, http_status
from edge.errors import OutriderError
from edge.protocol.video import API_PREFIX

__all__ = ["RequestGuard", "SecurityHeaders", "content_security_policy"]

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Sign-in has no credentials yet; sign-out must work with an ended session too.
OPEN_CHANGES = frozenset({f"{API_PREFIX}/auth/login", f"{API_PREFIX}/auth/logout"})
# Other systems sign their requests (HMAC over the body): the headers are checked here, the
# signature itself by the route once the body is read.
SIGNED_CHANGES = (f"{API_PREFIX}/cad/", f"{API_PREFIX}/aid/")
POLICY_VIOLATION = 1008
HSTS = "max-age=31536000; includeSubDomains"


def _has_nul(scope: Scope) -> bool:
    raw = scope.get("raw_path") or scope.get("path", "").encode()
    query = scope.get("query_string", b"")
    return any(b"\x00" in part or b"%00" in part.lower() for part in (raw, query))


class RequestGuard:
    """Refusals that need no route: NUL bytes, floods, and changes without credentials.

    Args:
        app: the application behind it.
        runtime: the running service (its authenticator, budgets and metrics).
    """

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        try:
            await self._check(scope)
        except OutriderError as exc:
            self.runtime.metrics.refused.labels(exc.code).inc()
            await self._refuse(exc, scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _check(self, scope: Scope) -> None:
        if _has_nul(scope):
            raise DispatchError("the URL holds a NUL byte", code="invalid_field")
        client = scope.get("client")
        self.runtime.limits.address(client[0] if client else "unknown")
        path = scope.get("path", "")
        if (
            scope["type"] == "http"
            and scope["method"] in UNSAFE_METHODS
            and path.startswith(API_PREFIX + "/")
            and path not in OPEN_CHANGES
        ):
            if path.startswith(SIGNED_CHANGES):
                source = self.runtime.signed_source(HTTPConnection(scope).headers)
                self.runtime.limits.write(f"source:{source}")
                return
            who = await authenticate(HTTPConnection(scope), self.runtime)
            scope.setdefault("state", {})["principal"] = who
            # The per-caller budget paces people's changes. An edge's writes are the chunks of
            # its own recordings, bounded by size and by its dock scope; the address budget
            # still holds for them.
            if who.role != "edge":
                self.runtime.limits.write(who.name)

    @staticmethod
    async def _refuse(exc: OutriderError, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            reason = f"{exc.code}: {exc.reason}"[:120]
            await WebSocketClose(POLICY_VIOLATION, reason)(scope, receive, send)
            return
        status = http_status(exc)
        body = {"code": exc.code, "reason": exc.reason}
        response = JSONResponse(body, status_code=status, headers=error_headers(exc, status))
        await response(scope, receive, send)


def content_security_policy(tile_url: str) -> str:
    """Everything from dispatch itself; map tiles from their server, when one is set."""
    tiles = ""
    if tile_url:
        parts = urlsplit(tile_url.replace("{", "").replace("}", ""))
        tiles = f" {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data: blob:{tiles}; connect-src 'self'; font-src 'self'; "
        "media-src 'self' blob:; "  # the video player's fallback plays MSE from a blob: URL
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class SecurityHeaders:
    """Adds the security headers to every HTTP response that does not set its own.

    Args:
        app: the application behind it.
        tile_url: the map's tile URL template (its server may serve images).
    """

    def __init__(self, app: ASGIApp, tile_url: str = "") -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", content_security_policy(tile_url).encode()),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-content-type-options", b"nosniff"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(self.headers)
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", HSTS.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                have = {name.lower() for name, _ in message.get("headers", [])}
                added = [(n, v) for n, v in extra if n not in have]
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
