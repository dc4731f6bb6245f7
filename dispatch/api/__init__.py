"""The HTTP API of dispatch, version 1: one router per resource under ``/api/v1``."""

from dispatch.api.main import api_router

__all__ = ["api_router"]
