"""The MAVSDK adapter: a PX4 (or the sim vehicle) as a :class:`~edge.flight.vehicle.Vehicle`.

The only module of the edge that imports ``mavsdk``. Telemetry streams keep one
:class:`VehicleState` current; commands are awaited with timeouts and every mode change is
verified on the flight-mode stream, because PX4 may acknowledge a command (MISSION_START
right after an upload, for one) and then refuse it. Refusals fall back instead of hanging:
an upload with NAV_LOITER_TURNS that the vehicle refuses is sent again with the orbit as a
ring of waypoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import replace
from types import TracebackType
from typing import Any, Self

from mavsdk.asyncio import Configuration, Mavsdk, MavsdkError, System
from mavsdk.asyncio.component_type import ComponentType
from mavsdk.asyncio.plugins.action import ActionAsync
from mavsdk.asyncio.plugins.mission_raw import MissionRawAsync
from mavsdk.asyncio.plugins.param import ParamAsync
from mavsdk.asyncio.plugins.telemetry import TelemetryAsync
from mavsdk.plugins.mission_raw import MissionItem

from edge.aio import within
from edge.config import VehicleConfig
from edge.errors import FlightError, LinkLostError
from edge.flight.mission import MissionPlan
from edge.flight.vehicle import FlightMode, VehicleState
from edge.geo import LatLon

__all__ = ["MavsdkVehicle"]

logger = logging.getLogger(__name__)

TELEMETRY_RATE_HZ = 10.0
MODE_SEEN_S = 2.5  # mode shows in the 1 Hz HEARTBEAT
REFUSAL_RETRY_S = 0.3
NOT_NOW_TEXT_S = 0.5  # a refusal's status text may trail its COMMAND_ACK
REFUSALS = ("not available", "rejected", "denied", "refused")


def _refusal(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in REFUSALS)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


@contextlib.contextmanager
def _mapped(what: str) -> Iterator[None]:
    """Turn MAVSDK's errors into FlightError, keeping the cause."""
    try:
        yield
    except TimeoutError:
        raise FlightError(f"{what}: no answer from the vehicle", code="vehicle_timeout") from None
    except MavsdkError as exc:
        result = getattr(getattr(exc, "result", None), "name", "ERROR")
        raise FlightError(f"{what} refused: {result}", code="vehicle_refused") from exc


class MavsdkVehicle:
    """One autopilot over MAVLink, as an async context manager.

    Entering starts the connection and the telemetry watchers and returns at once; the
    vehicle counts as connected when MAVSDK has found it (``state.connected``).

    Args:
        config: the ``[vehicle]`` section (URL, timeouts).
        params: autopilot parameters to set at connect (``EdgeConfig.autopilot_params``).
    """

    def __init__(self, config: VehicleConfig, params: dict[str, float] | None = None) -> None:
        self.config = config
        self.params = dict(config.params if params is None else params)
        self._state = VehicleState()
        self._changed = asyncio.Event()
        self._stack = contextlib.AsyncExitStack()
        self._system: System | None = None
        self._action: ActionAsync | None = None
        self._mission: MissionRawAsync | None = None
        self._telemetry: TelemetryAsync | None = None
        self._tasks: asyncio.TaskGroup | None = None
        self._watchers: list[asyncio.Task[None]] = []

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        config = Configuration.create_with_component_type(ComponentType.GROUND_STATION)
        mavsdk = await self._stack.enter_async_context(Mavsdk(config))
        with _mapped(f"connect to {self.config.url}"):
            await within(mavsdk.add_any_connection(self.config.url), self.config.command_timeout_s)
        self._tasks = await self._stack.enter_async_context(asyncio.TaskGroup())
        self._watchers.append(self._tasks.create_task(self._find(mavsdk)))
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in self._watchers:
            task.cancel()
        self._watchers.clear()
        await self._stack.aclose()

    async def _find(self, mavsdk: Mavsdk) -> None:
        """Wait for the autopilot, then watch every telemetry stream."""
        system = None
        while system is None:
            system = await mavsdk.first_autopilot(timeout_s=self.config.connect_timeout_s)
            if system is None:
                logger.warning("no autopilot on %s yet", self.config.url)
        self._system = system
        self._action = ActionAsync(system)
        self._mission = MissionRawAsync(system)
        self._telemetry = TelemetryAsync(system)
        self._update(heard=True, connected=True)
        logger.info("vehicle found on %s", self.config.url)
        assert self._tasks is not None
        for watcher in self._stream_watchers(system, self._telemetry, self._mission):
            self._watchers.append(self._tasks.create_task(watcher))
        await self._set_rates(self._telemetry)
        await self._apply_params(ParamAsync(system))

    def _stream_watchers(
        self, system: System, tel: TelemetryAsync, mission: MissionRawAsync
    ) -> list[Coroutine[Any, Any, None]]:
        def watch(stream: AsyncIterator[Any], apply: Callable[[Any], dict[str, Any]]) -> Any:
            async def run() -> None:
                try:
                    async for item in stream:
                        self._update(**apply(item))
                except Exception:  # a broken stream must not take the flight process down
                    logger.exception("a telemetry stream of %s failed", self.config.url)

            return run()

        return [
            watch(system.is_connected_state(), lambda c: {"connected": bool(c), "heard": bool(c)}),
            watch(tel.subscribe_position(), _position),
            watch(tel.subscribe_home(), _home),
            watch(tel.subscribe_in_air(), lambda v: {"in_air": bool(v), "in_air_known": True}),
            watch(tel.subscribe_armed(), lambda v: {"armed": bool(v)}),
            watch(tel.subscribe_battery(), _battery),
            watch(tel.subscribe_flight_mode(), lambda m: {"flight_mode": m.name}),
            watch(tel.subscribe_health(), _health),
            watch(tel.subscribe_gps_info(), _gps),
            watch(tel.subscribe_velocity_ned(), _velocity),
            watch(tel.subscribe_heading(), lambda h: {"heading_deg": h.heading_deg % 360.0}),
            watch(tel.subscribe_status_text(), self._status),
            watch(
                mission.subscribe_mission_progress(),
                lambda p: {"mission_current": p.current, "mission_total": p.total},
            ),
        ]

    async def _set_rates(self, tel: TelemetryAsync) -> None:
        for setter in (tel.set_rate_position, tel.set_rate_velocity_ned, tel.set_rate_in_air):
            try:
                await within(setter(TELEMETRY_RATE_HZ), self.config.command_timeout_s)
            except (MavsdkError, TimeoutError) as exc:
                logger.info("telemetry rate not set: %s", exc)

    async def _apply_params(self, params: ParamAsync) -> None:
        """Set the configured autopilot parameters (best effort: logged, never fatal).

        A parameter is read first to learn whether the autopilot holds it as a float or an
        integer, then written with that type.
        """
        timeout = self.config.command_timeout_s
        for name, value in self.params.items():
            try:
                try:
                    await within(params.get_param_float(name), timeout)
                    is_float = True
                except MavsdkError as exc:
                    if getattr(getattr(exc, "result", None), "name", "") != "WRONG_TYPE":
                        raise
                    is_float = False
                if is_float:
                    await within(params.set_param_float(name, float(value)), timeout)
                else:
                    await within(params.set_param_int(name, round(value)), timeout)
            except (MavsdkError, TimeoutError) as exc:
                logger.warning("autopilot parameter %s=%s not set: %s", name, value, exc)

    def _status(self, text: Any) -> dict[str, Any]:
        return {"status_text": str(text.text)[:200], "status_count": self._state.status_count + 1}

    # -- state ----------------------------------------------------------------------------------

    def _update(self, heard: bool = True, **changes: Any) -> None:
        if heard:  # a message from the vehicle (not MAVSDK's own view of the link)
            changes["heard_at"] = asyncio.get_running_loop().time()
        self._state = replace(self._state, **changes)
        self._changed.set()
        self._changed = asyncio.Event()

    @property
    def state(self) -> VehicleState:
        return self._state

    async def next_state(self, timeout_s: float) -> VehicleState:
        try:
            await within(self._changed.wait(), timeout_s)
        except TimeoutError:
            raise LinkLostError(f"no MAVLink from the vehicle for {timeout_s:g} s") from None
        return self._state

    async def wait_for(
        self, predicate: Callable[[VehicleState], bool], *, timeout_s: float, what: str
    ) -> VehicleState:
        try:
            async with asyncio.timeout(timeout_s):
                while not predicate(self._state):
                    await self._changed.wait()
        except TimeoutError:
            raise FlightError(
                f"{what} did not happen within {timeout_s:g} s", code="vehicle_timeout"
            ) from None
        return self._state

    # -- commands -------------------------------------------------------------------------------

    def _plugins(self) -> tuple[ActionAsync, MissionRawAsync]:
        if self._action is None or self._mission is None or not self._state.connected:
            raise LinkLostError("the vehicle is not connected")
        return self._action, self._mission

    async def _call(self, what: str, call: Awaitable[Any]) -> None:
        with _mapped(what):
            await within(call, self.config.command_timeout_s)

    async def _said_not_now(self, texts: int, deadline: float) -> bool:
        """Whether the vehicle said, since status text number ``texts``, that the refusal is
        for now only (PX4: "... is currently not available"), with time left to try again."""

        def said(s: VehicleState) -> bool:
            return s.status_count > texts and "not available" in s.status_text.lower()

        if asyncio.get_running_loop().time() >= deadline:
            return False
        try:
            await self.wait_for(said, timeout_s=NOT_NOW_TEXT_S, what="refusal text")
        except FlightError:
            return False
        return True

    async def _to_mode(
        self,
        what: str,
        send: Callable[[], Awaitable[Any]],
        seen: Callable[[VehicleState], bool],
    ) -> None:
        """Send a mode command and see it take effect; send again if it did not stick.

        PX4 may refuse a mode for a moment (a mission still being checked after its upload),
        saying so in a status text ("... is currently not available"): PX4 before 2026-05
        acknowledged the command first and refused it after, PX4 main answers
        TEMPORARILY_REJECTED at once. Either way the refusal is read from the stream and the
        command sent again shortly, until the mode is seen or the mode timeout runs out.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.mode_timeout_s
        attempt = 0
        while True:
            attempt += 1
            texts = self._state.status_count

            def answered(s: VehicleState, texts: int = texts) -> bool:
                return seen(s) or (s.status_count > texts and _refusal(s.status_text))

            try:
                await self._call(what, send())
            except FlightError as exc:
                if exc.code != "vehicle_refused" or not await self._said_not_now(texts, deadline):
                    raise
                logger.info("%s refused for now (%s); again", what, self._state.status_text)
                await asyncio.sleep(REFUSAL_RETRY_S)
                continue
            left = deadline - loop.time()
            try:
                state = await self.wait_for(
                    answered,
                    timeout_s=max(0.1, min(left, MODE_SEEN_S)),
                    what=what,
                )
                if seen(state):
                    return
                logger.info("%s refused after its ack (%s); again", what, state.status_text)
                await asyncio.sleep(REFUSAL_RETRY_S)  # PX4 needs a moment after an upload
            except FlightError:
                logger.info("%s acknowledged but not seen (attempt %d)", what, attempt)
            if loop.time() >= deadline:
                raise FlightError(
                    f"{what}: the vehicle acknowledged but stayed in {self._state.flight_mode}",
                    code="mode_refused",
                )

    async def arm(self) -> None:
        action, _ = self._plugins()
        await self._call("arm", action.arm())
        # an accepted arm is an armed vehicle; the armed stream (1 Hz) could still say otherwise
        # and end a short flight's wait for the disarm before it has happened
        self._update(armed=True)

    async def disarm(self) -> None:
        action, _ = self._plugins()
        await self._call("disarm", action.disarm())
        self._update(armed=False)

    async def takeoff(self, alt_rel_m: float) -> None:
        action, _ = self._plugins()
        await self._call("set take-off altitude", action.set_takeoff_altitude(float(alt_rel_m)))
        await self._to_mode(
            "take-off",
            action.takeoff,
            lambda s: s.flight_mode == FlightMode.TAKEOFF or s.in_air or (s.alt_rel_m or 0) > 0.5,
        )

    async def upload(self, plan: MissionPlan) -> MissionPlan:
        _, mission = self._plugins()
        try:
            await self._call("mission upload", mission.upload_mission(_items(plan)))
            return plan
        except FlightError as exc:
            if not (plan.has_orbit and plan.orbit_style != "ring"):
                raise
            logger.info("%s; sending the orbit as a ring of waypoints", exc.reason)
        ring = plan.with_style("ring")
        await self._call("mission upload (ring orbit)", mission.upload_mission(_items(ring)))
        return ring

    async def start_mission(self) -> None:
        _, mission = self._plugins()
        await self._to_mode(
            "mission start", mission.start_mission, lambda s: s.flight_mode == FlightMode.MISSION
        )

    async def hold(self) -> None:
        action, _ = self._plugins()
        await self._to_mode("hold", action.hold, lambda s: s.flight_mode == FlightMode.HOLD)

    async def land(self) -> None:
        action, _ = self._plugins()
        await self._to_mode(
            "land", action.land, lambda s: s.flight_mode == FlightMode.LAND or not s.in_air
        )

    async def return_to_launch(self) -> None:
        action, _ = self._plugins()
        await self._to_mode(
            "return",
            action.return_to_launch,
            lambda s: s.flight_mode == FlightMode.RETURN_TO_LAUNCH,
        )


def _items(plan: MissionPlan) -> list[MissionItem]:
    return [
        MissionItem(
            seq=i,
            frame=item.frame,
            command=item.command,
            current=1 if i == 0 else 0,
            autocontinue=item.autocontinue,
            param1=item.param1,
            param2=item.param2,
            param3=item.param3,
            param4=item.param4,
            x=item.x,
            y=item.y,
            z=item.z,
            mission_type=0,
        )
        for i, item in enumerate(plan.items())
    ]


def _position(p: Any) -> dict[str, Any]:
    return {
        "lat": _finite(p.latitude_deg),
        "lon": _finite(p.longitude_deg),
        "alt_amsl_m": _finite(p.absolute_altitude_m),
        "alt_rel_m": _finite(p.relative_altitude_m),
    }


def _home(h: Any) -> dict[str, Any]:
    lat, lon = _finite(h.latitude_deg), _finite(h.longitude_deg)
    return {
        "home": LatLon(lat, lon) if lat is not None and lon is not None else None,
        "home_alt_amsl_m": _finite(h.absolute_altitude_m),
    }


def _battery(b: Any) -> dict[str, Any]:
    pct = _finite(b.remaining_percent)
    return {"battery_pct": None if pct is None else max(0.0, min(100.0, pct))}


def _health(h: Any) -> dict[str, Any]:
    return {
        "global_position_ok": bool(h.is_global_position_ok),
        "home_position_ok": bool(h.is_home_position_ok),
        "armable": bool(h.is_armable),
    }


def _gps(g: Any) -> dict[str, Any]:
    return {"gps_fix": int(g.fix_type), "satellites": int(g.num_satellites)}


def _velocity(v: Any) -> dict[str, Any]:
    return {
        "ground_speed_mps": math.hypot(v.north_m_s, v.east_m_s),
        "climb_mps": -v.down_m_s,
    }
