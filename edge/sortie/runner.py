"""The sortie runner: waits docked (charging), flies each accepted sortie, obeys interrupts.

One coroutine, :meth:`SortieRunner.run`, owns the vehicle. Commands and failsafes never fly
it themselves: they hand the runner an interrupt, and :meth:`SortieRunner._on_interrupt`
decides, from the phase, which leg comes next. That function is the whole in-flight policy:
retask goes out again, recall and ``abort rtl`` return, ``abort hold`` hovers, ``abort
land_now`` lands where it is, a failsafe returns (or follows the autopilot's own failsafe),
and a lost MAVLink link waits for the link and then reconciles with what the vehicle did.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from edge.dock import DockError
from edge.errors import FlightError, LinkLostError, RefusedError
from edge.feasibility import SortiePlan
from edge.flight.mission import MissionPlan
from edge.flight.vehicle import FlightMode, Vehicle
from edge.protocol import AckCode, EventType, GeoPoint, Phase
from edge.sortie.interrupts import Abort, Failsafe, Interrupt, LinkLost, Recall, Retask
from edge.sortie.machine import SortieMachine
from edge.sortie.pilot import Leg, Pilot
from edge.sortie.recovery import recover

__all__ = ["SortieRunner", "VideoFactory"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
VideoFactory = Callable[[], AbstractAsyncContextManager[Any]]
MAX_LEG_FAILURES = 4
LINK_WAIT_S = 6 * 3600.0


async def first_of(*coros: Coroutine[Any, Any, Any]) -> tuple[int, Any]:
    """Run coroutines until one finishes; cancel the rest. Returns its index and result."""
    async with asyncio.TaskGroup() as tasks:
        running = [tasks.create_task(c) for c in coros]
        done, pending = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
    winner = next(i for i, task in enumerate(running) if task in done)
    return winner, running[winner].result()


class SortieRunner:
    """Owns the vehicle: idles and charges in the dock, flies sorties, takes interrupts.

    Args:
        pilot: flies the legs.
        machine: the sortie state machine.
        video: enters the video pipeline for the airborne part of a sortie (optional).
    """

    def __init__(
        self,
        pilot: Pilot,
        machine: SortieMachine,
        *,
        record: dict[str, Any] | None = None,
        video: VideoFactory | None = None,
    ) -> None:
        self.pilot = pilot
        self.machine = machine
        self.vehicle: Vehicle = pilot.vehicle
        self.config = pilot.config
        self.video = video
        self.record = record
        self.busy = True  # until start-up recovery has decided what the vehicle is doing
        self.recovered = asyncio.Event()
        self._orders: asyncio.Queue[tuple[SortiePlan, float]] = asyncio.Queue(maxsize=1)
        self._interrupts: asyncio.Queue[Interrupt] = asyncio.Queue()
        self._tasks: asyncio.TaskGroup | None = None
        self._failures = 0
        self.leg: Leg | None = None

    # -- what command handlers and failsafes call (never block) --------------------------------

    def launch(self, plan: SortiePlan, received_at: float) -> str:
        """Take a sortie that passed preflight; returns its id.

        Raises:
            RefusedError: ``busy`` when a sortie is already accepted or flying.
        """
        if self.busy or not self.machine.idle or self._orders.full():
            raise RefusedError(f"dock is busy ({self.machine.phase})", code=AckCode.BUSY)
        self.busy = True
        target = GeoPoint(lat=plan.request.target.lat, lon=plan.request.target.lon)
        sortie_id = self.machine.begin(plan.request.incident_id, target)
        self._orders.put_nowait((plan, received_at))
        return sortie_id

    def interrupt(self, interrupt: Interrupt) -> None:
        """Hand the runner a retask, recall, abort, failsafe or link loss."""
        self._interrupts.put_nowait(interrupt)

    # -- the loop -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Recover whatever a previous process left, then idle, fly, idle, ... until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            self._tasks = tasks
            first = await recover(self.pilot, self.machine, self.record)
            self.recovered.set()
            if first is not None:
                try:
                    await self._fly(first)
                finally:
                    self.busy = False
                self._after_sortie()
            self.busy = False
            while True:
                plan, received_at = await self._idle()
                await self._sortie(plan, received_at)

    async def _idle(self) -> tuple[SortiePlan, float]:
        """Charge until ready while docked; return as soon as a sortie is accepted."""
        ready_pct = self.config.dock.ready_pct
        while True:
            if self.machine.phase is Phase.CHARGING:
                await self.pilot.dock.set_charging(True)
                which, got = await first_of(
                    self._orders.get(),
                    self.vehicle.wait_for(
                        lambda s: (s.battery_pct or 0.0) >= ready_pct,
                        timeout_s=LINK_WAIT_S,
                        what="full charge",
                    ),
                )
                await self.pilot.dock.set_charging(False)
                if which == 0:
                    return got  # type: ignore[no-any-return]
                self.machine.transition(Phase.DOCKED, EventType.READY)
                continue
            which, got = await first_of(
                self._orders.get(),
                self.vehicle.wait_for(
                    lambda s: (
                        s.battery_pct is not None and s.battery_pct < self.config.dock.recharge_pct
                    ),
                    timeout_s=LINK_WAIT_S,
                    what="battery to need charging",
                ),
            )
            if which == 0:
                return got  # type: ignore[no-any-return]
            self.machine.transition(Phase.CHARGING, EventType.CHARGING)

    async def _sortie(self, plan: SortiePlan, received_at: float) -> None:
        self._failures = 0
        self.pilot.plan = plan
        self.pilot.exit_phase = Phase.ABORTED
        self.machine.transition(Phase.PREFLIGHT, EventType.ACCEPTED, **_summary(plan))
        try:
            first = await self._launch(received_at)
            if first is not None:
                await self._fly(first)
        finally:
            self.busy = False
        self._after_sortie()

    def _after_sortie(self) -> None:
        """Back in the dock: charge (always, so every sortie ends charging → ready)."""
        if self.machine.phase is Phase.DOCKED and self.machine.sortie_id is not None:
            self.machine.transition(Phase.CHARGING, EventType.CHARGING)
            self.machine.end_sortie()

    async def _fly(self, first: Leg) -> None:
        """The airborne part, with the video pipeline running if there is one."""
        async with contextlib.AsyncExitStack() as stack:
            if self.video is not None:
                try:
                    await stack.enter_async_context(self.video())
                except Exception:  # video is welcome, never required to fly
                    logger.exception("the video pipeline did not start; flying without it")
            leg: Leg | None = first
            while leg is not None:
                leg = await self._fly_leg(leg)
        self.leg = None

    # -- launch ---------------------------------------------------------------------------------

    async def _launch(self, received_at: float) -> Leg | None:
        """Lid, arm, take off; returns the first airborne leg, or ``None`` if abandoned."""
        transit = self.pilot.plan_transit()
        upload = self._background(self.vehicle.upload(transit.mission))
        try:
            await self.pilot.open_lid()
        except DockError as exc:
            await self.pilot.abandon_launch(EventType.PREFLIGHT_FAILED, exc.reason)
            return None
        if stop := self._pending_stop():
            await self.pilot.abandon_launch(EventType.ABORTED, f"{stop} before take-off")
            return None
        self.machine.transition(Phase.LAUNCHING, EventType.LID_OPEN)
        try:
            await self.pilot.arm_and_take_off(received_at)
        except FlightError as exc:
            if not self.vehicle.state.in_air:
                await self.pilot.abandon_launch(EventType.PREFLIGHT_FAILED, exc.reason)
                return None
            return self._on_failure(self.pilot.climb(upload, transit), exc)
        return self.pilot.climb(upload, transit)

    def _pending_stop(self) -> str | None:
        """A recall or abort that came during the ground part (retasks wait for the air)."""
        keep: list[Interrupt] = []
        stop = None
        while not self._interrupts.empty():
            item = self._interrupts.get_nowait()
            if isinstance(item, Recall | Abort) and stop is None:
                stop = "recall" if isinstance(item, Recall) else f"abort {item.action}"
            else:
                keep.append(item)
        for item in keep:
            self._interrupts.put_nowait(item)
        return stop

    def _background(self, coro: Coroutine[Any, Any, MissionPlan]) -> asyncio.Task[Any]:
        async def captured() -> MissionPlan | FlightError:
            try:
                return await coro
            except FlightError as exc:
                return exc

        assert self._tasks is not None
        return self._tasks.create_task(captured())

    # -- one leg, raced against interrupts ------------------------------------------------------

    async def _fly_leg(self, leg: Leg) -> Leg | None:
        self.leg = leg
        logger.info("%s: leg %s", self.machine.dock_id, leg.name)

        async def guarded() -> Leg | FlightError | None:
            try:
                return await leg.fly()
            except FlightError as exc:
                return exc
            except Exception as exc:  # a bug in one leg must not drop a flying vehicle
                logger.exception("%s: leg %s raised", self.machine.dock_id, leg.name)
                return FlightError(f"{leg.name}: {type(exc).__name__}: {exc}", code="leg_error")

        async with asyncio.TaskGroup() as tasks:
            fly = tasks.create_task(guarded())
            wait = tasks.create_task(self._interrupts.get())
            done, _ = await asyncio.wait({fly, wait}, return_when=asyncio.FIRST_COMPLETED)
            if wait in done:
                fly.cancel()
            else:
                wait.cancel()
        if wait in done and not wait.cancelled():
            return self._on_interrupt(leg, wait.result())
        result = fly.result()
        if isinstance(result, FlightError):
            return self._on_failure(leg, result)
        self._failures = 0
        return result

    def _on_failure(self, leg: Leg, exc: FlightError) -> Leg | None:
        logger.warning("%s: leg %s failed: %s", self.machine.dock_id, leg.name, exc)
        if isinstance(exc, LinkLostError):
            return self._on_interrupt(leg, LinkLost(self.config.vehicle.link_lost_s))
        self._failures += 1
        phase = self.machine.phase
        if self._failures > MAX_LEG_FAILURES:
            return self.pilot.stranded()
        if phase is Phase.LANDING:
            return self.pilot.land_here()
        if phase in (Phase.RETURNING, Phase.FAILSAFE):
            return self.pilot.follow_return(fallback=exc.code)
        return self._on_interrupt(
            leg, Failsafe(exc.code, detail={"leg": leg.name, "error": exc.reason})
        )

    def _on_interrupt(self, leg: Leg, it: Interrupt) -> Leg | None:
        """What comes next, given the phase and the interrupt: the sortie's in-flight policy."""
        m, pilot, phase = self.machine, self.pilot, self.machine.phase
        going_home = phase in (Phase.RETURNING, Phase.LANDING)
        if isinstance(it, LinkLost):
            m.note(EventType.VEHICLE_LINK_LOST, silent_s=it.silent_s, leg=leg.name)
            return pilot.link_wait(leg, self._on_interrupt)
        if isinstance(it, Retask):
            detail = {
                "target": {"lat": it.plan.request.target.lat, "lon": it.plan.request.target.lon}
            }
            if phase is Phase.LAUNCHING:
                m.transition(Phase.LAUNCHING, EventType.RETASKED, **detail)
                pilot.plan = it.plan
                transit = pilot.plan_transit()
                return pilot.climb(self._background(self.vehicle.upload(transit.mission)), transit)
            if phase in (Phase.EN_ROUTE, Phase.ON_SCENE, Phase.RETURNING, Phase.ABORTED):
                m.transition(Phase.EN_ROUTE, EventType.RETASKED, **detail)
                return pilot.retask(it.plan)
            logger.warning("retask ignored while %s", phase)
            return leg
        if isinstance(it, Recall):
            if going_home:
                return leg  # already on the way: carry on
            m.note(EventType.RECALLED)
            m.transition(Phase.RETURNING, EventType.RETURNING, reason="recalled")
            return pilot.go_home()
        if isinstance(it, Abort):
            m.transition(Phase.ABORTED, EventType.ABORTED, action=it.action)
            pilot.exit_phase = Phase.ABORTED
            if it.action == "hold":
                return pilot.hold()
            if it.action == "land_now":
                return pilot.land_here()
            m.transition(Phase.RETURNING, EventType.RETURNING, reason="abort_rtl")
            return pilot.go_home()
        return self._on_failsafe(leg, it)

    def _on_failsafe(self, leg: Leg, it: Failsafe) -> Leg | None:
        m, pilot, phase = self.machine, self.pilot, self.machine.phase
        if it.reason == "gps_lost":  # the autopilot lands without a position: follow it down
            m.transition(Phase.FAILSAFE, EventType.FAILSAFE, reason=it.reason, **it.detail)
            pilot.exit_phase = Phase.FAILSAFE
            m.transition(Phase.LANDING, EventType.LANDING, via="autopilot_land")
            return pilot.landing()
        if it.reason == "autopilot_mode":
            mode = str(it.detail.get("mode", ""))
            m.transition(Phase.FAILSAFE, EventType.FAILSAFE, reason=it.reason, **it.detail)
            pilot.exit_phase = Phase.FAILSAFE
            if mode == FlightMode.LAND or it.detail.get("landed"):
                m.transition(Phase.LANDING, EventType.LANDING, via="autopilot_land")
                return pilot.landing()
            m.transition(Phase.RETURNING, EventType.RETURNING, reason="autopilot_failsafe")
            if mode == FlightMode.RETURN_TO_LAUNCH and pilot.straight_home_is_clear():
                return pilot.follow_return()  # the autopilot's own return is safe: follow it
            return pilot.go_home()
        if phase in (Phase.RETURNING, Phase.LANDING) and it.action == "return":
            return leg
        m.transition(Phase.FAILSAFE, EventType.FAILSAFE, reason=it.reason, **it.detail)
        pilot.exit_phase = Phase.FAILSAFE
        if it.action == "land":
            return pilot.land_here()
        m.transition(Phase.RETURNING, EventType.RETURNING, reason=it.reason)
        return pilot.go_home()


def _summary(plan: SortiePlan) -> dict[str, Any]:
    req = plan.request
    return {
        "target": {"lat": req.target.lat, "lon": req.target.lon},
        "alt_rel_m": req.alt_rel_m,
        "scene_alt_rel_m": req.on_scene_alt_m,
        "on_scene": req.on_scene.model_dump(mode="json"),
        "needed_pct": round(plan.needed_pct, 1),
        "eta_s": round(plan.budget.out.time_s, 1),
    }
