"""``outrider sim ...``: run sim vehicles, inject faults, read ground truth, fly the demo sortie."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from edge.errors import ConfigError

__all__ = ["add_vehicle_arguments", "config_from_args", "register"]

DEFAULT_HOME = "47.397742,8.545594,489.4"


def _param(text: str) -> tuple[str, float]:
    name, eq, value = text.partition("=")
    try:
        if not eq:
            raise ValueError
        return name.strip().upper(), float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}") from exc


def _ports(text: str) -> list[int]:
    try:
        ports = [int(p) for p in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected PORT or P1,P2,..., got {text!r}") from exc
    if not all(0 < p < 65536 for p in ports):
        raise argparse.ArgumentTypeError(f"ports must be 1..65535, got {text!r}")
    return ports


def _wind(text: str) -> tuple[float, float]:
    try:
        speed, from_deg = (float(p) for p in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected SPEED,FROM_DEG, got {text!r}") from exc
    return speed, from_deg


def add_vehicle_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``outrider sim vehicle`` (also used by the launcher's child process)."""
    p.add_argument("--instance", type=int, default=0, help="PX4 SITL instance number N")
    p.add_argument("--home", default=DEFAULT_HOME, help="LAT,LON,ALT_AMSL of the home position")
    p.add_argument("--speed-factor", type=float, default=1.0, help="simulated / wall time")
    p.add_argument(
        "--port",
        type=_ports,
        help="UDP port MAVSDK listens on (default 14540+N); with --count, PORT+i or P1,P2,...",
    )
    p.add_argument("--local-port", type=int, help="UDP port to bind (default 14580+N, 0 any)")
    p.add_argument("--control-port", type=int, help="TCP control port (default 24540+N, 0 any)")
    p.add_argument("--count", type=int, default=1, help="vehicles N..N+COUNT-1 in this process")
    p.add_argument(
        "--fault", action="append", default=[], metavar="SPEC", help="e.g. link_loss:5,after=30"
    )
    p.add_argument("--param", action="append", type=_param, default=[], metavar="NAME=VALUE")
    p.add_argument("--wind", type=_wind, metavar="SPEED,FROM_DEG")
    p.add_argument("--battery", type=float, default=100.0, metavar="PCT")
    p.add_argument(
        "--frame-rule",
        choices=["any_frame", "global_int_only", "any_global"],
        default="any_frame",
        help="which PX4's command protocol: any_frame (PX4 main since 2026-05), "
        "global_int_only (2026-02 to 2026-05), any_global (before)",
    )
    p.add_argument(
        "--mission-start-delay",
        type=float,
        default=0.02,
        metavar="S",
        help="mission mode is refused this long after a first upload (PX4: 10-40 ms)",
    )
    p.add_argument("--exit-on-stdin-eof", action="store_true", help=argparse.SUPPRESS)


def config_from_args(args: argparse.Namespace, offset: int = 0) -> Any:
    """The ``VehicleConfig`` of vehicle ``instance + offset`` from parsed options."""
    from pydantic import ValidationError

    from sim.vehicle.config import VehicleConfig, parse_home
    from sim.vehicle.faults import parse_fault

    def port(value: int | None) -> int | None:
        return value + offset if value else value

    ports: list[int] = args.port or []
    mavsdk_port = ports[offset] if offset < len(ports) else port(ports[0] if ports else None)

    try:
        wind_speed, wind_from = args.wind or (0.0, 0.0)
        return VehicleConfig(
            instance=args.instance + offset,
            home=parse_home(args.home),
            speed_factor=args.speed_factor,
            mavsdk_port=mavsdk_port,
            local_port=port(args.local_port),
            control_port=port(args.control_port),
            frame_rule=args.frame_rule,
            mission_start_delay_s=args.mission_start_delay,
            wind_speed_mps=wind_speed,
            wind_from_deg=wind_from % 360.0,
            battery_pct=args.battery,
            params=dict(args.param),
            faults=[parse_fault(f) for f in args.fault],
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{where}: {first['msg']}", code="invalid_config") from exc


def _vehicle(args: argparse.Namespace) -> int:
    from sim.vehicle.serve import run_vehicles

    configs = [config_from_args(args, i) for i in range(max(1, args.count))]
    return run_vehicles(configs, exit_on_stdin_eof=args.exit_on_stdin_eof)


def _control_port(args: argparse.Namespace) -> int:
    from sim.vehicle.config import CONTROL_BASE_PORT

    return int(args.control_port or CONTROL_BASE_PORT + args.instance)


async def _control(port: int, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from sim.vehicle.control import ControlClient

    async with ControlClient(port) as client:
        return [await client.request(r) for r in requests]


def _fault(args: argparse.Namespace) -> int:
    from sim.vehicle.faults import parse_fault

    requests: list[dict[str, Any]] = [{"op": "clear", "kind": k} for k in args.clear]
    if args.clear_all:
        requests.append({"op": "clear", "kind": None})
    for spec in args.spec:
        parse_fault(spec)  # refuse a bad spec before connecting
        requests.append({"op": "fault", "fault": spec})
    if not requests:
        raise ConfigError("give a fault SPEC, --clear KIND or --clear-all", code="invalid_fault")
    asyncio.run(_control(_control_port(args), requests))
    sys.stdout.write(f"vehicle {args.instance}: {len(requests)} request(s) done\n")
    return 0


def _state(args: argparse.Namespace) -> int:
    (reply,) = asyncio.run(_control(_control_port(args), [{"op": "state"}]))
    sys.stdout.write(json.dumps(reply["state"], indent=2) + "\n")
    return 0


def _sortie(args: argparse.Namespace) -> int:
    from sim.scripted_sortie import run_sortie

    return run_sortie(speed_factor=args.speed_factor, home=args.home)


def _px4(args: argparse.Namespace) -> int:
    import os
    import signal

    from edge.geo import LatLon
    from sim.px4 import PX4_BUILD_ENV, Px4Sitl
    from sim.vehicle.config import parse_home

    build = args.px4_build or os.environ.get(PX4_BUILD_ENV)
    if not build:
        raise ConfigError(f"give --px4-build DIR or set {PX4_BUILD_ENV}", code="invalid_config")
    home = parse_home(args.home)
    sitl = Px4Sitl(
        Path(build),
        instance=args.instance,
        home=(LatLon(home.lat, home.lon), home.alt_amsl),
        params=dict(args.param),
        keep_logs=args.keep_logs,
        workdir=args.workdir,
    )

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with sitl:
            ready = {"event": "ready", "instance": args.instance, "url": sitl.url}
            sys.stdout.write(json.dumps({**ready, "log": str(sitl.log_path)}) + "\n")
            sys.stdout.flush()
            await stop.wait()

    asyncio.run(run())
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``outrider sim vehicle|fault|state|sortie|px4``."""
    sim = sub.add_parser("sim", help="simulated vehicles, faults and the demo sortie")
    cmds = sim.add_subparsers(dest="sim_command", required=True, metavar="SIM_COMMAND")

    p = cmds.add_parser("vehicle", help="run a PX4-compatible MAVLink vehicle (PX4 SITL ports)")
    add_vehicle_arguments(p)
    p.set_defaults(func=_vehicle)

    p = cmds.add_parser("fault", help="inject or clear a fault in a running sim vehicle")
    p.add_argument("spec", nargs="*", help="link_loss:5 | gps_loss[:S] | battery_sag:to=12 ...")
    p.add_argument("--instance", type=int, default=0)
    p.add_argument("--control-port", type=int)
    p.add_argument("--clear", action="append", default=[], metavar="KIND")
    p.add_argument("--clear-all", action="store_true")
    p.set_defaults(func=_fault)

    p = cmds.add_parser("state", help="print a running sim vehicle's ground truth as JSON")
    p.add_argument("--instance", type=int, default=0)
    p.add_argument("--control-port", type=int)
    p.set_defaults(func=_state)

    p = cmds.add_parser("sortie", help="fly one scripted sortie through the edge's vehicle adapter")
    p.add_argument("--speed-factor", type=float, default=5.0)
    p.add_argument("--home", default=DEFAULT_HOME)
    p.set_defaults(func=_sortie)

    p = cmds.add_parser("px4", help="run real PX4 SITL (SIH quad) from a PX4 build directory")
    p.add_argument("--px4-build", metavar="DIR", help="PX4 build dir (default $OUTRIDER_PX4_BUILD)")
    p.add_argument("--instance", type=int, default=0, help="instance N: MAVSDK on UDP 14540+N")
    p.add_argument("--home", default=DEFAULT_HOME, help="LAT,LON,ALT_AMSL of the home position")
    p.add_argument("--param", action="append", type=_param, default=[], metavar="NAME=VALUE")
    p.add_argument("--keep-logs", action="store_true", help="keep PX4's flight logs (~50 MB each)")
    p.add_argument("--workdir", type=Path, metavar="DIR", help="working dir (default: a temp one)")
    p.set_defaults(func=_px4)
