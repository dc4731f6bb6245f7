"""What each command type does on this dock: the handlers the command dispatcher routes to.

A handler decides synchronously from the phase and the snapshots (preflight for a dispatch or
a retask) and hands the runner an order or an interrupt; it never flies the vehicle itself,
so an ack goes out in milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence

from edge.airspace import NoFlyZone
from edge.comms.dispatcher import Handler, Outcome
from edge.config import EdgeConfig
from edge.dock import Dock
from edge.errors import RefusedError
from edge.flight.vehicle import Vehicle
from edge.geo import LatLon
from edge.preflight import PreflightFailed, check_dispatch, check_retask, request_from
from edge.protocol import (
    AbortCommand,
    AckCode,
    Command,
    DispatchCommand,
    EventType,
    Phase,
    RetaskCommand,
)
from edge.sortie.interrupts import Abort, Recall, Retask
from edge.sortie.machine import SortieMachine
from edge.sortie.runner import SortieRunner

__all__ = ["CommandHandlers"]

STEERABLE = frozenset(
    {Phase.LAUNCHING, Phase.EN_ROUTE, Phase.ON_SCENE, Phase.RETURNING, Phase.ABORTED}
)
STOPPABLE = STEERABLE | {Phase.PREFLIGHT, Phase.LANDING, Phase.FAILSAFE}


class CommandHandlers:
    """The handlers of ``dispatch``, ``retask``, ``recall``, ``abort`` and ``ping``."""

    def __init__(
        self,
        config: EdgeConfig,
        zones: Sequence[NoFlyZone],
        machine: SortieMachine,
        runner: SortieRunner,
        vehicle: Vehicle,
        dock: Dock,
    ) -> None:
        self.config = config
        self.zones = zones
        self.machine = machine
        self.runner = runner
        self.vehicle = vehicle
        self.dock = dock

    def table(self) -> dict[str, Handler]:
        """Command type -> handler, for the dispatcher."""
        return {
            "dispatch": self.dispatch,
            "retask": self.retask,
            "recall": self.recall,
            "abort": self.abort,
            "ping": self.ping,
        }

    async def dispatch(self, cmd: Command, received: float) -> Outcome:
        assert isinstance(cmd, DispatchCommand)  # the dispatcher routes by type
        body = cmd.body
        incident = body.incident_id
        if self.runner.busy or not self.machine.idle:
            reason = f"dock is busy: {self.machine.phase}"
            if self.machine.incident_id:
                reason += f" for {self.machine.incident_id}"
            self.machine.note(
                EventType.REJECTED, incident_id=incident, cmd_id=cmd.id, code="busy", reason=reason
            )
            raise RefusedError(reason, code=AckCode.BUSY)
        req = request_from(
            self.config,
            incident,
            LatLon(body.target.lat, body.target.lon),
            body.alt_rel_m,
            body.on_scene,
        )
        try:
            plan = check_dispatch(
                self.config,
                self.zones,
                req,
                self.dock.status(),
                self.dock.wind(),
                self.vehicle.state,
            )
        except PreflightFailed as exc:
            self.machine.note(
                EventType.PREFLIGHT_FAILED,
                incident_id=incident,
                cmd_id=cmd.id,
                failures=[f.model_dump() for f in exc.failures],
            )
            raise
        sortie_id = self.runner.launch(plan, received)
        return Outcome(
            sortie_id=sortie_id,
            reason=f"launching for {incident}: {plan.budget.out.time_s:.0f} s to scene, "
            f"{plan.needed_pct:.0f}% battery needed",
        )

    async def retask(self, cmd: Command, received: float) -> Outcome:
        assert isinstance(cmd, RetaskCommand)
        self._flying("retask", STEERABLE)
        body = cmd.body
        req = request_from(
            self.config,
            self.machine.incident_id,
            LatLon(body.target.lat, body.target.lon),
            body.alt_rel_m,
            body.on_scene,
        )
        plan = check_retask(self.config, self.zones, req, self.vehicle.state, self.dock.wind())
        self.runner.interrupt(Retask(plan))
        return Outcome(sortie_id=self.machine.sortie_id, reason="retasking to the new target")

    def _flying(self, what: str, phases: frozenset[Phase]) -> None:
        """Refuse ``what`` unless there is a sortie in one of ``phases`` to apply it to."""
        phase = self.machine.phase
        if phase not in phases:
            raise RefusedError(f"nothing to {what} while {phase}", code=AckCode.NOT_FLYING)
        if phase in (Phase.ABORTED, Phase.FAILSAFE) and not self.vehicle.state.in_air:
            raise RefusedError(
                f"nothing to {what}: the drone has landed away from the dock",
                code=AckCode.NOT_FLYING,
            )

    async def recall(self, cmd: Command, received: float) -> Outcome:
        self._flying("recall", STOPPABLE)
        self.runner.interrupt(Recall())
        going = self.machine.phase in (Phase.RETURNING, Phase.LANDING)
        return Outcome(
            sortie_id=self.machine.sortie_id,
            reason="already returning" if going else "returning to the dock",
        )

    async def abort(self, cmd: Command, received: float) -> Outcome:
        assert isinstance(cmd, AbortCommand)
        self._flying("abort", STOPPABLE)
        self.runner.interrupt(Abort(cmd.body.action))
        return Outcome(sortie_id=self.machine.sortie_id, reason=f"aborting: {cmd.body.action}")

    async def ping(self, cmd: Command, received: float) -> Outcome:
        return Outcome(sortie_id=self.machine.sortie_id, reason=f"{self.machine.phase}")
