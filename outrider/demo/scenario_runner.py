"""The scenario runner: raises each incident through the dispatch API at its time, follows it.

It plays the control room. An incident that no dock can take *now* (every dock busy,
charging, or just sent elsewhere) is queued by dispatch (202) and sent by it as soon as a
dock can go; the runner only watches it, and cancels it once it has waited the scenario's
``max_wait_s``. One that no dock could ever take (its target in a no-fly zone, or out of
every dock's range) is refused at once (409), with dispatch's reasons. A dispatched incident
is followed until its drone is back in the dock, then its detections are collected. Times
of the scenario are simulated seconds, divided by the speed factor here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from edge.geo import LatLon, distance_m
from outrider.demo.report import RunRecord
from outrider.demo.scenario import IncidentSpec, Scenario

__all__ = [
    "PERMANENT_CODES",
    "TARGET_CODES",
    "ScenarioRunner",
    "deciding_code",
    "effective_reasons",
]

logger = logging.getLogger(__name__)

PERMANENT_CODES = frozenset({"out_of_range", "no_fly", "above_ceiling"})
"""Refusal codes that waiting does not change."""
TARGET_CODES = frozenset({"no_fly"})
"""Refusal codes about the target itself: one dock saying so is enough."""
POLL_S = 0.5
HTTP_RETRY_S = 1.0


def effective_reasons(
    reasons: list[dict[str, Any]], fleet: list[dict[str, Any]], target: LatLon
) -> list[dict[str, str]]:
    """Each dock's refusal, where a busy or charging dock that could never reach the target
    (beyond its published range) counts as ``out_of_range``, saying both."""
    by_id = {d["id"]: d for d in fleet}
    out = []
    for reason in reasons:
        entry = {k: str(reason.get(k, "")) for k in ("dock_id", "code", "reason")}
        dock = by_id.get(entry["dock_id"]) or {}
        home, limit = dock.get("home"), dock.get("max_range_m")
        if entry["code"] not in PERMANENT_CODES and _beyond(home, limit, target):
            assert home is not None and limit is not None
            away = distance_m(LatLon(home["lat"], home["lon"]), target) / 1000
            entry["reason"] = (
                f"{entry['reason'] or entry['code']}; and the target is {away:.1f} km away, "
                f"limit {limit / 1000:.1f} km"
            )
            entry["code"] = "out_of_range"
        out.append(entry)
    return out


def _beyond(home: dict[str, float] | None, limit: float | None, target: LatLon) -> bool:
    """Whether the target lies beyond a dock's range (False when either is unknown)."""
    if home is None or limit is None:
        return False
    return distance_m(LatLon(home["lat"], home["lon"]), target) > limit


def deciding_code(codes: list[str]) -> str:
    """The one code that says why no dock went: a target code, else the most common one."""
    for code in codes:
        if code in TARGET_CODES:
            return code
    return Counter(codes).most_common(1)[0][0] if codes else "no_dock_available"


class ScenarioRunner:
    """Runs one scenario against a running dispatch service.

    Args:
        http: a client of dispatch holding a dispatcher token.
        scenario: the scenario.
        speed_factor: simulated seconds per wall second.
        run_id: makes the CAD references of this run unique.
        on_change: called whenever an incident moves on (for a live display).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        scenario: Scenario,
        *,
        speed_factor: float,
        run_id: str,
        on_change: Callable[[RunRecord], None] | None = None,
    ) -> None:
        self.http = http
        self.scenario = scenario
        self.speed_factor = speed_factor
        self.run_id = run_id
        self.on_change = on_change or (lambda record: None)
        self.records = [RunRecord(spec) for spec in scenario.incidents]

    def wall(self, sim_s: float) -> float:
        return sim_s / self.speed_factor

    async def run(self) -> list[RunRecord]:
        """Raise and follow every incident; returns what was seen of each."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline = start + self.wall(self.scenario.timeout_s)
        async with asyncio.TaskGroup() as tasks:
            for record in self.records:
                tasks.create_task(self._incident(record, start, deadline))
        return self.records

    async def _incident(self, record: RunRecord, start: float, deadline: float) -> None:
        spec = record.spec
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, start + self.wall(spec.at_s) - loop.time()))  # its time
        raised_at = loop.time()
        try:
            async with asyncio.timeout_at(deadline):
                if await self._raise(record, raised_at):
                    await self._follow(record)
        except TimeoutError:
            record.timed_out = True
            logger.warning("incident %s: scenario time ran out", spec.name)
        with contextlib.suppress(httpx.HTTPError, TimeoutError):
            async with asyncio.timeout(15.0):
                await self._collect(record)
        record.done = True
        self.on_change(record)

    def _body(self, spec: IncidentSpec) -> dict[str, Any]:
        body: dict[str, Any] = {
            "lat": spec.lat,
            "lon": spec.lon,
            "type": spec.type,
            "priority": spec.priority,
            "cad_ref": f"{self.scenario.name}/{spec.name}/{self.run_id}",
            "on_scene_s": self.wall(spec.on_scene_s),
        }
        if spec.description:
            body["description"] = spec.description
        if spec.alt_rel_m is not None:
            body["alt_rel_m"] = spec.alt_rel_m
        return body

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        while True:
            try:
                response = await self.http.post("/api/v1/incidents", json=body)
            except httpx.HTTPError as exc:
                logger.warning("raising an incident failed (%s); trying again", exc)
                await asyncio.sleep(HTTP_RETRY_S)  # back-off before the next attempt
                continue
            if response.status_code in (200, 201, 202, 409):
                return response
            response.raise_for_status()
            return response

    async def _fleet(self) -> list[dict[str, Any]]:
        try:
            response = await self.http.get("/api/v1/docks")
            response.raise_for_status()
        except httpx.HTTPError:
            return []
        fleet: list[dict[str, Any]] = response.json()
        return fleet

    async def _raise(self, record: RunRecord, raised_at: float) -> bool:
        """Raise the incident: True once a dock takes it (at once or from dispatch's queue),
        False when it is refused, or cancelled after waiting ``max_wait_s`` in the queue."""
        spec, loop = record.spec, asyncio.get_running_loop()
        response = await self._post(self._body(spec))
        data = response.json()
        record.incident_id = data.get("incident_id") or data.get("id") or record.incident_id
        if response.status_code == 409:
            reasons = list(data.get("docks", []))
            docks = effective_reasons(reasons, await self._fleet(), spec.target)
            codes = [d["code"] for d in docks]
            record.refusal = {
                "code": deciding_code(codes),
                "reason": str(data.get("reason", "")),
                "docks": docks,
            }
            self.on_change(record)
            logger.info("incident %s refused: %s", spec.name, record.refusal["code"])
            return False
        if data.get("status") == "queued":
            logger.info("incident %s queued (place %s)", spec.name, data["queue"]["position"])
            self.on_change(record)
            if not await self._queued(record, raised_at):
                return False
        record.waited_s = loop.time() - raised_at
        logger.info("incident %s: sent", spec.name)
        self.on_change(record)
        return True

    async def _queued(self, record: RunRecord, raised_at: float) -> bool:
        """Until dispatch's queue sends a dock (True), or the wait is over and it is cancelled."""
        assert record.incident_id is not None
        loop, path = asyncio.get_running_loop(), f"/api/v1/incidents/{record.incident_id}"
        while True:
            with contextlib.suppress(httpx.HTTPError):
                response = await self.http.get(path)
                if response.status_code == 200:
                    status = response.json().get("status")
                    if status == "closed":
                        return False
                    if status != "queued":
                        return True
            record.waited_s = loop.time() - raised_at
            if record.waited_s > self.wall(self.scenario.max_wait_s):
                record.timed_out = True
                with contextlib.suppress(httpx.HTTPError):
                    await self.http.post(f"{path}/cancel")
                return False
            await asyncio.sleep(POLL_S)  # the incident, polled: no event crosses the HTTP API

    async def _follow(self, record: RunRecord) -> None:
        """Until the drone is back in its dock."""
        assert record.incident_id is not None
        seen = 0
        while True:
            with contextlib.suppress(httpx.HTTPError):
                response = await self.http.get(f"/api/v1/incidents/{record.incident_id}")
                if response.status_code == 200:
                    record.detail = response.json()
                    lines = record.detail.get("timeline", [])
                    if len(lines) != seen:
                        seen = len(lines)
                        self.on_change(record)
                    if _docked(record.detail):
                        return
            await asyncio.sleep(POLL_S)  # the incident's timeline, polled

    async def _collect(self, record: RunRecord) -> None:
        """The incident's final state and the objects its sortie detected."""
        if record.incident_id is None:
            return
        path = f"/api/v1/incidents/{record.incident_id}"
        response = await self.http.get(path)
        if response.status_code == 200:
            record.detail = response.json()
        if record.detail and record.detail.get("dock_id"):
            response = await self.http.get(f"{path}/detections")
            if response.status_code == 200:
                record.detections = response.json()


def _docked(detail: dict[str, Any]) -> bool:
    dock = detail.get("dock_id")
    return any(
        x["kind"] == "event" and x["type"] == "docked" and x.get("dock_id") == dock
        for x in detail.get("timeline", [])
    )
