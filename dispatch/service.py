"""Running the service: uvicorn around the app; offline checks of its store.

On SIGTERM or SIGINT the instance drains: it stops taking MQTT messages and reports itself not
ready (``/readyz`` 503) at once, lets the HTTP requests under way finish, stores and
acknowledges every message it had taken, and exits; the broker keeps the rest for its
persistent session.
"""

from __future__ import annotations

import asyncio
import logging
from types import FrameType

import uvicorn

from dispatch.app import create_app
from dispatch.audit import AuditReport, verify_chain
from dispatch.config import DispatchSettings
from dispatch.runtime import Runtime
from dispatch.store.sql import SqlStore

__all__ = ["serve", "verify_audit"]

logger = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    """uvicorn, telling the runtime to drain as soon as a stop is asked for."""

    def __init__(self, config: uvicorn.Config, runtime: Runtime) -> None:
        super().__init__(config)
        self.runtime = runtime

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not running yet: nothing taken to drain
            pass
        else:  # a signal handler: the drain itself runs on the loop, not in here
            loop.call_soon_threadsafe(self.runtime.begin_drain)
        super().handle_exit(sig, frame)


async def serve(settings: DispatchSettings) -> None:
    """Serve until interrupted (SIGINT/SIGTERM end it cleanly)."""
    runtime = Runtime(settings)
    config = uvicorn.Config(
        create_app(runtime),
        host=settings.host,
        port=settings.port,
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=5,
        # Video frames are compressed already: deflating them again for every viewer only
        # costs the relay CPU (a few per cent of it with 50 viewers).
        ws_per_message_deflate=False,
    )
    logger.info("dispatch listening on http://%s:%d", settings.host, settings.port)
    await DrainingServer(config, runtime).serve()


async def verify_audit(db_url: str) -> AuditReport:
    """Check the audit chain of the store at ``db_url``."""
    async with SqlStore(db_url) as store:
        return await verify_chain(store.audit_rows(), await store.audit_head())
