"""``outrider demo``: the whole system on one machine, interactive or running a scenario.

Interactive (the default): start everything, print the UI address and a token, show the live
table, play the city's scenario if it names one, and run until Ctrl-C. Headless: run the
scenario to completion and write its report (``--json`` for machines), exit 0 when every
incident went as the scenario expects and 1 otherwise. SIGINT and SIGTERM stop every part
cleanly, whatever the mode: that is how the demo is meant to end, so it says goodbye and exits
0 (``make demo`` then prints no error line); a part that fails still makes it exit non-zero.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rich.console import Console

from edge.errors import ConfigError, OutriderError
from outrider.demo.config import DemoConfig, load_demo_config
from outrider.demo.report import RunRecord, ScenarioReport, build_report
from outrider.demo.scenario import Scenario, load_scenario, world_scene
from outrider.demo.scenario_runner import ScenarioRunner
from outrider.demo.stack import DemoStack, resolve_model
from outrider.demo.vehicles import Px4Vehicles, SimVehicles, VehicleSource

__all__ = ["DemoOptions", "run_demo"]


SIGN_IN_FILE = "control-room.txt"
"""In the state directory: the control room's address and the dispatcher's token."""

logger = logging.getLogger(__name__)

GOODBYE = "Demo stopped: every part is down. Goodbye."
QUIET_LOGGERS = ("amqtt", "transitions", "httpx", "httpcore", "mavsdk", "sim")
CONSOLE = Console()


@dataclass(frozen=True)
class DemoOptions:
    """What ``outrider demo`` was asked to do (its command-line flags)."""

    config: Path
    scenario: Path | None = None
    headless: bool = False
    json: bool = False
    speed_factor: float | None = None
    docks: int | None = None
    vehicle: Literal["sim", "px4"] = "sim"
    px4_build: Path | None = None
    mqtt: str | None = None
    port: int | None = None
    state_dir: Path = Path("state/demo")
    video: bool = True


@dataclass(frozen=True)
class Plan:
    """The run worked out from the options and the city, before anything starts."""

    city: DemoConfig
    scenario: Scenario | None
    speed_factor: float
    port: int
    model: Path | None


def plan(o: DemoOptions) -> Plan:
    """Check the options against the city; nothing is started.

    Raises:
        ConfigError: a file or flag that cannot be used, saying which and why.
    """
    city = load_demo_config(o.config)
    path = o.scenario or city.scenario
    scenario = load_scenario(path) if path else None
    if o.headless and scenario is None:
        raise ConfigError("--headless needs a scenario: pass --scenario FILE")
    speed = o.speed_factor if o.speed_factor is not None else city.speed_factor
    if o.vehicle == "px4":
        if o.px4_build is None:
            raise ConfigError("--vehicle px4 needs --px4-build DIR (a PX4 SITL build directory)")
        if o.speed_factor not in (None, 1.0):
            raise ConfigError("PX4 SITL (SIH) runs in real time only: leave --speed-factor at 1")
        speed = 1.0
    if o.docks is not None and not 1 <= o.docks <= len(city.docks):
        raise ConfigError(f"--docks must be 1..{len(city.docks)} (the docks in {o.config})")
    port = o.port if o.port is not None else (0 if o.headless else city.dispatch.port)
    model = resolve_model(city.video.model) if o.video and city.video.enabled else None
    return Plan(city, scenario, speed, port, model)


def _vehicles(o: DemoOptions, p: Plan, count: int) -> VehicleSource:
    if o.vehicle == "px4":
        assert o.px4_build is not None
        return Px4Vehicles(o.px4_build, o.state_dir.resolve() / "px4", count)
    return SimVehicles(p.speed_factor)


def run_demo(o: DemoOptions) -> int:
    """Run the demo until it is done or interrupted; the process exit status.

    Raises:
        OutriderError: a file, flag or part of the demo that failed (the CLI prints it).
    """
    p = plan(o)
    _configure_logging(interactive=not o.headless)
    try:
        return asyncio.run(_main(o, p))
    except BaseExceptionGroup as group:
        found = _first_outrider_error(group)
        if found is None:
            raise
        raise found from None


def _first_outrider_error(group: BaseExceptionGroup[BaseException]) -> OutriderError | None:
    for exc in group.exceptions:
        if isinstance(exc, OutriderError):
            return exc
        if isinstance(exc, BaseExceptionGroup):
            found = _first_outrider_error(exc)
            if found is not None:
                return found
    return None


def _configure_logging(*, interactive: bool) -> None:
    """Quiet chatty libraries; in the live view, log lines print above the table."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # amqtt logs every readiness probe of its port as an error
    logging.getLogger("amqtt.broker").setLevel(logging.CRITICAL)
    if interactive:
        from rich.logging import RichHandler

        root = logging.getLogger()
        for handler in list(root.handlers):  # the command line's own stderr handler
            if type(handler) is logging.StreamHandler and handler.stream in (
                sys.stderr,
                sys.stdout,
            ):
                root.removeHandler(handler)
        if not any(isinstance(h, RichHandler) for h in root.handlers):
            root.addHandler(RichHandler(console=CONSOLE, show_path=False))


async def _main(o: DemoOptions, p: Plan) -> int:
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def interrupt() -> None:
        if not stopping.is_set():  # a second Ctrl-C must not cut the clean stop short
            stopping.set()
            logger.warning("stopping every part of the demo")
            task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupt)
    try:
        return await _session(o, p)
    except asyncio.CancelledError:
        if not stopping.is_set():
            raise
        CONSOLE.line()  # below whatever the live table left on the last line
        CONSOLE.print(GOODBYE, highlight=False)
        return 0
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _session(o: DemoOptions, p: Plan) -> int:
    docks = p.city.docks[: o.docks or len(p.city.docks)]
    scene = world_scene(p.city.name, p.city.actors, p.scenario.actors() if p.scenario else [])
    if p.model is None and o.video:
        logger.warning("no detector model (set OUTRIDER_MODEL): the drones fly without video")
    stack = DemoStack(
        p.city,
        docks,
        _vehicles(o, p, len(docks)),
        o.state_dir.resolve(),
        speed_factor=p.speed_factor,
        scene=scene,
        mqtt_url=o.mqtt,
        port=p.port,
        model=p.model,
    )
    async with stack:
        if o.headless:
            assert p.scenario is not None
            report = await play(stack, p.scenario, o.vehicle, p.speed_factor)
            _write_report(report, as_json=o.json)
            return 0 if report.ok else 1
        await _interactive(stack, p, o.vehicle)
    return 0


async def play(
    stack: DemoStack,
    scenario: Scenario,
    vehicle: str,
    speed_factor: float,
    records: list[RunRecord] | None = None,
) -> ScenarioReport:
    """Run ``scenario`` on a started stack and build its report (parts watched meanwhile)."""
    started = time.monotonic()
    async with stack.client("dispatcher") as http:
        runner = ScenarioRunner(
            http, scenario, speed_factor=speed_factor, run_id=secrets.token_hex(3)
        )
        if records is not None:
            records[:] = runner.records
        async with asyncio.TaskGroup() as tasks:
            watch = tasks.create_task(_watch(stack))
            await runner.run()
            watch.cancel()
    return build_report(
        scenario.name,
        runner.records,
        vehicle=vehicle,
        speed_factor=speed_factor,
        video=stack.model is not None,
        docks=[d.id for d in stack.docks],
        wall_s=time.monotonic() - started,
    )


async def _watch(stack: DemoStack) -> None:
    """Raise as soon as dispatch or an edge exits on its own."""
    while True:
        stack.check_alive()
        await asyncio.sleep(1.0)  # child exits are polled: they belong to other processes


async def _interactive(stack: DemoStack, p: Plan, vehicle: str) -> None:
    from outrider.demo.live import show_live
    from outrider.demo.summary import summary

    console = CONSOLE
    _banner(console, stack, p)
    records: list[RunRecord] = []
    scenario = p.scenario

    def progress() -> tuple[str, Sequence[RunRecord]] | None:
        return (scenario.name, records) if scenario is not None and records else None

    async with stack.client("viewer") as http, asyncio.TaskGroup() as tasks:
        names = {d.id: d.name for d in stack.docks}
        tasks.create_task(show_live(http, console, progress, names))
        tasks.create_task(_watch(stack))
        if scenario is not None:
            report = await play(stack, scenario, vehicle, p.speed_factor, records)
            console.print(summary(report))
        await asyncio.Event().wait()  # until Ctrl-C


def _banner(console: Console, stack: DemoStack, p: Plan) -> None:
    video = f"video on ({p.model.name})" if p.model else "no video (set OUTRIDER_MODEL)"
    # The live table soon scrolls the banner away: the address and token stay in a file.
    sign_in = stack.files.root / SIGN_IN_FILE
    fd = os.open(sign_in, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f"{stack.url}/\ntoken {stack.tokens.dispatcher}\n")
    console.print(
        f"[bold]Outrider demo[/bold]: {len(stack.docks)} docks in {p.city.name}, "
        f"speed factor {p.speed_factor:g}, {video}\n"
        f"  control room: [link={stack.url}/]{stack.url}/[/link]  "
        f"sign in with token [bold]{stack.tokens.dispatcher}[/bold]  (both in {sign_in})\n"
        f"  broker {stack.mqtt_url}, state and logs in {stack.files.root}\n"
        "  Ctrl-C stops everything."
    )


def _write_report(report: ScenarioReport, *, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
        return
    from outrider.demo.summary import summary

    console = CONSOLE if CONSOLE.is_terminal else Console(width=160)
    console.print(summary(report))
