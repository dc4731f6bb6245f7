"""Errors of the basemap: a tile file or city extract that cannot be used, each with a code.

Our exception hierarchy (under :class:`edge.errors.OutriderError`)::

    OutriderError
    └── BasemapError         basemap_missing, basemap_invalid, basemap_unavailable
"""

from __future__ import annotations

from edge.errors import OutriderError

__all__ = ["BasemapError"]


class BasemapError(OutriderError):
    """A tile file or OpenStreetMap extract that is missing, unreadable or cannot be built.

    Codes: ``basemap_missing`` (no such file), ``basemap_invalid`` (not a PMTiles or MBTiles
    file, or a corrupt one; an extract that holds nothing to draw), ``basemap_unavailable``
    (the OpenStreetMap reader is not installed: ``pip install 'outrider[demo]'``).
    """

    default_code = "basemap_invalid"
