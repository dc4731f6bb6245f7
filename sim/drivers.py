"""The simulator's drivers, added to the edge's registries by the command line's wiring.

The edge never imports :mod:`sim`; ``outrider`` (and the test suite) call :func:`register`,
after which ``type = "sim"`` is valid for ``[dock.hardware]`` and ``[video.camera]``.
"""

from __future__ import annotations

__all__ = ["register"]


def register() -> None:
    """Add the sim dock and the synthetic camera to the edge's driver registries."""
    from edge.dock import DOCKS
    from edge.video.cameras import CAMERAS
    from sim import dock
    from sim.camera import source

    DOCKS.add(dock)
    CAMERAS.add(source)
