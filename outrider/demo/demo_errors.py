"""Typed errors of the demo and scenario runner.

Our exception hierarchy (under :class:`edge.errors.OutriderError`)::

    OutriderError
    └── DemoError      demo_failed, or a more precise code: child_failed (a part of the
                       demo exited), not_ready (a part did not come up in time),
                       port_busy, px4_unavailable, scenario_timeout
"""

from __future__ import annotations

from edge.errors import OutriderError

__all__ = ["DemoError"]


class DemoError(OutriderError):
    """The demo could not start, or one of its parts failed while it ran."""

    default_code = "demo_failed"
