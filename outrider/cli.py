"""The ``outrider`` command line: each part of Outrider registers its own sub-commands."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from outrider import __version__

# Each module has ``register(subparsers)`` and keeps heavy imports inside its handlers,
# so that ``outrider --help`` stays fast.
COMMAND_MODULES = [
    "edge.protocol.cli",
    "outrider.bench",
    "outrider.certs",
    "edge.video.cli",
    "edge.cli",
    "dispatch.cli",
    "dispatch.evidence.cli",
    "sim.cli",
    "outrider.demo.cli",
    "basemap.cli",
]
# A dock's install may leave the simulator out: then its commands and drivers are left out.
OPTIONAL_PACKAGES = ("sim",)


def _optional_missing(exc: ImportError) -> bool:
    """Whether ``exc`` says an optional package is not installed."""
    return (exc.name or "").split(".")[0] in OPTIONAL_PACKAGES


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="outrider", description="Open drone-as-first-responder system on PX4."
    )
    parser.add_argument("--version", action="version", version=f"outrider {__version__}")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            if not _optional_missing(exc):
                raise
            continue
        module.register(sub)
    return parser


def register_sim_drivers() -> None:
    """Make the simulator's dock and camera available to configs, when ``sim`` imports."""
    try:
        from sim.drivers import register
    except ImportError as exc:
        if not _optional_missing(exc):
            raise
        logging.getLogger(__name__).info("simulated dock and camera not available: %s", exc)
        return
    register()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one sub-command and return its exit status."""
    from edge.errors import OutriderError
    from edge.redact import install as install_redaction

    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    install_redaction()  # no password, token or bearer credential in any log line
    register_sim_drivers()
    try:
        return int(args.func(args) or 0)
    except OutriderError as exc:
        sys.stderr.write(f"outrider: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130
