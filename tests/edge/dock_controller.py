"""A dock controller of the tests' own: the HTTP/JSON API of ``edge.dock.http_dock``, for real.

A lid motor with a travel time (that can jam), a charger and a wind sensor, behind a stdlib
HTTP server on a free port in a thread of its own. ``down`` makes it answer 503, ``garbage``
makes ``/status`` answer with those bytes instead.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


class DockController:
    """The controller's state, served on ``url`` while entered."""

    def __init__(self, *, lid_time_s: float = 0.3, token: str | None = None) -> None:
        self.lid_time_s = lid_time_s
        self.token = token
        self.lid = "closed"
        self.moving_to: str | None = None
        self.moved_at = 0.0
        self.jammed = False
        self.charging = False
        self.wind: tuple[float, float] | None = (3.0, 250.0)
        self.down = False
        self.garbage: bytes | None = None
        self.requests: list[tuple[str, str, Any]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def status(self) -> dict[str, Any]:
        """What ``GET /status`` answers now (the lid arrives once its travel time is up)."""
        with self._lock:
            arrived = time.monotonic() - self.moved_at >= self.lid_time_s
            if self.moving_to and not self.jammed and arrived:
                self.lid, self.moving_to = self.moving_to, None
            speed, from_deg = self.wind if self.wind else (None, None)
            return {
                "lid": self.lid,
                "charging": self.charging,
                "wind_mps": speed,
                "wind_from_deg": from_deg,
                "firmware": "test-1",
            }

    def command(self, path: str, body: dict[str, Any]) -> bool:
        """Carry out ``POST /lid`` or ``POST /charger``; False for anything else."""
        with self._lock:
            if path == "/lid" and body.get("position") in ("open", "closed"):
                if self.lid != body["position"]:
                    self.moving_to = body["position"]
                    self.lid = "opening" if self.moving_to == "open" else "closing"
                    self.moved_at = time.monotonic()
                return True
            if path == "/charger" and isinstance(body.get("on"), bool):
                self.charging = body["on"]
                return True
        return False

    def __enter__(self) -> Self:
        controller = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: bytes = b"{}") -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _allowed(self) -> bool:
                if controller.down:
                    self._answer(503)
                    return False
                expected = f"Bearer {controller.token}" if controller.token else None
                if expected and self.headers.get("Authorization") != expected:
                    self._answer(401)
                    return False
                return True

            def do_GET(self) -> None:
                controller.requests.append(("GET", self.path, None))
                if not self._allowed():
                    return
                if self.path != "/status":
                    self._answer(404)
                elif controller.garbage is not None:
                    self._answer(200, controller.garbage)
                else:
                    self._answer(200, json.dumps(controller.status()).encode())

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                controller.requests.append(("POST", self.path, body))
                if self._allowed():
                    self._answer(202 if controller.command(self.path, body) else 400)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
