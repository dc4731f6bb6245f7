"""``outrider edge``: run the edge agent of one dock."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``outrider edge`` to the command line."""
    parser = sub.add_parser("edge", help="run the edge agent of one dock")
    parser.add_argument("--config", type=Path, required=True, help="the dock's TOML config")
    parser.add_argument("--mqtt", metavar="URL", help="broker URL (mqtt:// or mqtts://)")
    parser.add_argument("--vehicle", metavar="URL", help="MAVSDK connection URL of the vehicle")
    parser.add_argument("--dock-id", metavar="ID", help="this dock's id")
    parser.add_argument("--state-dir", type=Path, metavar="DIR", help="outbox and sortie record")
    parser.add_argument(
        "--dispatch",
        metavar="URL",
        help="stream video to this dispatch address (default video settings unless [video] is set)",
    )
    parser.set_defaults(func=_run)


def overrides(args: argparse.Namespace) -> dict[str, dict[str, object] | object]:
    """Command-line flags as config overrides (they win over file and environment)."""
    out: dict[str, dict[str, object] | object] = {}
    if args.mqtt:
        out["mqtt"] = {"url": args.mqtt}
    if args.vehicle:
        out["vehicle"] = {"url": args.vehicle}
    if args.dock_id:
        out["dock"] = {"id": args.dock_id}
    if args.state_dir:
        out["state_dir"] = args.state_dir
    if args.dispatch:
        out["video"] = {"uplink": {"url": args.dispatch}}
    return out


EXIT_GRACE_S = 10.0


def _exit_after(seconds: float) -> None:
    """Leave the process after ``seconds`` even if a thread still waits on the vehicle.

    MAVSDK runs some requests (parameters) on executor threads that cannot be cancelled; one
    waiting on a vehicle that vanished would otherwise hold the process at exit.
    """
    import logging
    import os
    import threading

    def leave() -> None:
        logging.getLogger(__name__).warning("a vehicle request is stuck; exiting without it")
        logging.shutdown()
        os._exit(0)

    timer = threading.Timer(seconds, leave)
    timer.daemon = True
    timer.start()


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from edge.agent import EdgeAgent
    from edge.config import load_config
    from edge.redact import remember_secret

    config = load_config(args.config, **overrides(args))
    remember_secret(config.mqtt.broker().password)
    if config.video is not None:
        token = config.video.uplink.token
        remember_secret(token.get_secret_value() if token else None)

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
        video = None
        if config.video is not None:
            from edge.video import start_video

            video = start_video
        try:
            await EdgeAgent(config, video=video).run()
        except asyncio.CancelledError:
            return
        finally:
            _exit_after(EXIT_GRACE_S)

    asyncio.run(main())
    return 0
