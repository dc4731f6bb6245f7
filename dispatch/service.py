"""Running the service: uvicorn around the app; offline checks of its store."""

from __future__ import annotations

import logging

import uvicorn

from dispatch.app import create_app
from dispatch.audit import AuditReport, verify_chain
from dispatch.config import DispatchSettings
from dispatch.runtime import Runtime
from dispatch.store.sql import SqlStore

__all__ = ["serve", "verify_audit"]

logger = logging.getLogger(__name__)


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
    await uvicorn.Server(config).serve()


async def verify_audit(db_url: str) -> AuditReport:
    """Check the audit chain of the store at ``db_url``."""
    async with SqlStore(db_url) as store:
        return await verify_chain(store.audit_rows(), await store.audit_head())
