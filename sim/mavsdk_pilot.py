"""A MAVSDK ground station that flies one vehicle step by step, for the benchmark and tests.

The only module of ``sim`` that imports ``mavsdk``: it is the client side, used against the sim
vehicle and against real PX4 SITL alike, and sends raw MAVLink items so that tests can compare
the two item by item. Every step waits on a telemetry stream with a timeout, like PX4's own
``AutopilotTester``; nothing sleeps to wait. (The edge flies through its own adapter,
:class:`edge.flight.mavsdk_vehicle.MavsdkVehicle`, and so does ``outrider sim sortie``.)
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar

from mavsdk.asyncio import Configuration, Mavsdk, System
from mavsdk.asyncio.component_type import ComponentType
from mavsdk.asyncio.plugins.action import ActionAsync
from mavsdk.asyncio.plugins.mission_raw import MissionRawAsync
from mavsdk.asyncio.plugins.param import ParamAsync
from mavsdk.asyncio.plugins.telemetry import TelemetryAsync
from mavsdk.plugins.mission_raw import MissionItem, MissionRawError

from edge.errors import FlightError
from edge.flight.mavlink_enums import (
    MAV_CMD_DO_CHANGE_SPEED,
    MAV_CMD_NAV_LOITER_TIME,
    MAV_CMD_NAV_RETURN_TO_LAUNCH,
    MAV_CMD_NAV_WAYPOINT,
    MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
    MAV_FRAME_MISSION,
)

__all__ = ["Pilot", "Waypoint", "mission_items"]

T = TypeVar("T")


@dataclass(frozen=True)
class Waypoint:
    """A mission point: where, how high above home, how fast to fly there, how long to stay."""

    lat: float
    lon: float
    alt_rel_m: float
    speed_mps: float = math.nan
    loiter_s: float = 0.0
    acceptance_m: float = 3.0


def mission_items(points: Sequence[Waypoint], *, rtl: bool = False) -> list[MissionItem]:
    """Raw MISSION_ITEM_INTs: DO_CHANGE_SPEED where a speed is given, NAV_WAYPOINT for a pass,
    NAV_LOITER_TIME for a point with a loiter time, and NAV_RETURN_TO_LAUNCH at the end."""
    raw: list[tuple[int, int, tuple[float, float, float, float], int, int, float]] = []
    for p in points:
        if math.isfinite(p.speed_mps):
            speed = (1.0, p.speed_mps, -1.0, 0.0)
            raw.append((MAV_FRAME_MISSION, MAV_CMD_DO_CHANGE_SPEED, speed, 0, 0, 0.0))
        command = MAV_CMD_NAV_LOITER_TIME if p.loiter_s > 0 else MAV_CMD_NAV_WAYPOINT
        params = (p.loiter_s, p.acceptance_m, 0.0, math.nan)
        if command == MAV_CMD_NAV_LOITER_TIME:
            params = (p.loiter_s, 0.0, 0.0, math.nan)
        xy = (round(p.lat * 1e7), round(p.lon * 1e7))
        raw.append((MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, command, params, *xy, p.alt_rel_m))
    if rtl:
        raw.append(
            (MAV_FRAME_MISSION, MAV_CMD_NAV_RETURN_TO_LAUNCH, (0.0, 0.0, 0.0, 0.0), 0, 0, 0.0)
        )
    return [
        MissionItem(seq, frame, cmd, int(seq == 0), 1, *params, x, y, z, 0)
        for seq, (frame, cmd, params, x, y, z) in enumerate(raw)
    ]


class Pilot:
    """One MAVSDK instance connected to one autopilot; an async context manager.

    Args:
        url: MAVSDK connection URL, e.g. ``udpin://127.0.0.1:14540``.
        timeout_s: default limit for every step.
    """

    def __init__(self, url: str, *, timeout_s: float = 30.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._mavsdk: Mavsdk | None = None
        self.system: System | None = None
        self.action: ActionAsync
        self.telemetry: TelemetryAsync
        self.mission: MissionRawAsync
        self.param: ParamAsync

    async def __aenter__(self) -> Self:
        config = Configuration.create_with_component_type(ComponentType.GROUND_STATION)
        self._mavsdk = Mavsdk(config)
        try:
            await asyncio.wait_for(self._mavsdk.add_any_connection(self.url), self.timeout_s)
            system = await self._mavsdk.first_autopilot(timeout_s=self.timeout_s)
        except BaseException:
            self._mavsdk.destroy()
            self._mavsdk = None
            raise
        if system is None:
            self._mavsdk.destroy()
            self._mavsdk = None
            raise FlightError(f"no autopilot at {self.url}", code="vehicle_link_lost")
        self.system = system
        self.action = ActionAsync(system)
        self.telemetry = TelemetryAsync(system)
        self.mission = MissionRawAsync(system)
        self.param = ParamAsync(system)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._mavsdk is not None:
            self._mavsdk.destroy()
            self._mavsdk = None

    # ------------------------------------------------------------- waiting
    async def first(
        self,
        stream: AsyncIterator[T],
        predicate: Callable[[T], bool] = lambda _: True,
        timeout_s: float | None = None,
        what: str = "telemetry",
    ) -> T:
        """The first item of ``stream`` that satisfies ``predicate``.

        Raises:
            FlightError: nothing matching within the timeout (code ``vehicle_timeout``).
        """
        try:
            async with asyncio.timeout(timeout_s or self.timeout_s):
                async for item in stream:
                    if predicate(item):
                        return item
        except TimeoutError:
            raise FlightError(f"waited too long for {what}", code="vehicle_timeout") from None
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        raise FlightError(f"{what} stream ended", code="vehicle_link_lost")

    @contextlib.contextmanager
    def collect(self, plugin: Any, stream: str) -> Iterator[asyncio.Queue[Any]]:
        """Queue every update of ``plugin``'s ``stream`` from now on.

        Unlike ``subscribe_*()``, which subscribes only when first iterated, this subscribes at
        once, so nothing between here and the next await is missed. Example:
        ``with pilot.collect(pilot.telemetry, "position") as positions: ...``
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        native = plugin._plugin

        def received(data: Any, _user: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, data)

        handle = getattr(native, f"subscribe_{stream}")(received)
        try:
            yield queue
        finally:
            getattr(native, f"unsubscribe_{stream}")(handle)

    @contextlib.contextmanager
    def status_texts(self) -> Iterator[asyncio.Queue[Any]]:
        """Collect STATUSTEXTs from now on."""
        with self.collect(self.telemetry, "status_text") as queue:
            yield queue

    async def expect_text(
        self, texts: asyncio.Queue[Any], fragment: str, timeout_s: float = 5.0
    ) -> str:
        """The first collected STATUSTEXT containing ``fragment``."""
        found = await self.expect(texts, lambda t: fragment in t.text, timeout_s, fragment)
        return str(found.text)

    async def expect(
        self,
        queue: asyncio.Queue[T],
        predicate: Callable[[T], bool],
        timeout_s: float | None = None,
        what: str = "telemetry",
    ) -> T:
        """The first collected update that satisfies ``predicate``."""
        try:
            async with asyncio.timeout(timeout_s or self.timeout_s):
                while not predicate(item := await queue.get()):
                    pass
        except TimeoutError:
            raise FlightError(f"waited too long for {what}", code="vehicle_timeout") from None
        return item

    async def call(self, what: str, coro: Any, timeout_s: float | None = None) -> Any:
        """Await one MAVSDK call with a timeout."""
        try:
            return await asyncio.wait_for(coro, timeout_s or self.timeout_s)
        except TimeoutError:
            raise FlightError(f"{what}: no answer", code="vehicle_timeout") from None

    async def wait_healthy(self, timeout_s: float | None = None) -> None:
        """Until global position, home and the pre-arm checks are all good."""
        await self.first(
            self.telemetry.subscribe_health(),
            lambda h: h.is_global_position_ok and h.is_home_position_ok and h.is_armable,
            timeout_s,
            "health ok",
        )

    async def wait_mode(self, name: str, timeout_s: float | None = None) -> None:
        await self.first(
            self.telemetry.subscribe_flight_mode(),
            lambda m: m.name == name,
            timeout_s,
            f"flight mode {name}",
        )

    async def wait_altitude(self, alt_rel_m: float, tol_m: float = 1.0, **kw: Any) -> Any:
        return await self.first(
            self.telemetry.subscribe_position(),
            lambda p: abs(p.relative_altitude_m - alt_rel_m) <= tol_m,
            what=f"altitude {alt_rel_m} m",
            **kw,
        )

    async def wait_landed_and_disarmed(self, timeout_s: float | None = None) -> None:
        await self.first(self.telemetry.subscribe_in_air(), lambda v: not v, timeout_s, "landed")
        await self.first(self.telemetry.subscribe_armed(), lambda v: not v, timeout_s, "disarm")

    async def position(self) -> Any:
        return await self.first(self.telemetry.subscribe_position(), what="position")

    # ------------------------------------------------------------- actions
    async def arm(self) -> None:
        await self.call("arm", self.action.arm())

    async def takeoff(self, alt_rel_m: float) -> None:
        """Set MIS_TAKEOFF_ALT and take off (PX4 takes the altitude from the parameter)."""
        await self.call("takeoff altitude", self.action.set_takeoff_altitude(alt_rel_m))
        await self.call("takeoff", self.action.takeoff())

    async def land(self) -> None:
        """NAV_LAND (the asyncio wrapper of MAVSDK 4.1.0 sends RTL for ``land()``)."""
        loop = asyncio.get_running_loop()
        plugin = self.action._plugin
        await self.call("land", loop.run_in_executor(None, plugin.land))

    async def upload(self, items: list[MissionItem]) -> None:
        await self.call("mission upload", self.mission.upload_mission(items))

    async def start_mission(self, settle_s: float = 3.0) -> int:
        """Start the mission and see mission mode; retry while PX4 still refuses a fresh upload.

        Returns:
            How many start commands it took.
        """
        for attempt in range(1, 20):
            try:  # PX4 main refuses at once (PX4 before 2026-05 accepted, then refused)
                await self.call("mission start", self.mission.start_mission())
            except MissionRawError:
                await asyncio.sleep(0.3)
                continue
            try:
                await self.wait_mode("MISSION", timeout_s=settle_s)
                return attempt
            except FlightError:
                continue
        raise FlightError("mission mode never engaged", code="vehicle_refused")

    async def wait_mission_done(self, timeout_s: float | None = None) -> None:
        """Until the last mission item has been reached."""
        await self.first(
            self.mission.subscribe_mission_progress(),
            lambda p: 0 < p.total <= p.current,
            timeout_s,
            "mission complete",
        )
