"""The vehicle's control socket: JSON lines over local TCP, for faults and ground truth.

Requests and replies are one JSON object per line::

    {"op": "state"}                                   -> {"ok": true, "state": {...}}
    {"op": "fault", "fault": "link_loss:5"}           -> {"ok": true}
    {"op": "fault", "fault": {"kind": "battery_sag", "to_pct": 12}}
    {"op": "clear", "kind": "gps_loss"}               (no kind: clear every fault)
    {"op": "wind", "speed_mps": 6, "from_deg": 270}
    {"op": "speed_factor", "value": 20}
    {"op": "param", "name": "NAV_DLL_ACT", "value": 2}  (value omitted: read it)
    {"op": "charge", "pct": 1.5}                      (a dock's charger adds charge)

A bad request gets ``{"ok": false, "code": ..., "reason": ...}``; nothing a client sends can
stop the vehicle.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from pydantic import ValidationError

from edge.errors import OutriderError
from sim.vehicle.autopilot.params import UnknownParam
from sim.vehicle.faults import Fault, FaultKind, parse_fault

if TYPE_CHECKING:
    from sim.vehicle.sim_vehicle import SimVehicle

__all__ = ["ControlClient", "ControlError", "serve_control"]

logger = logging.getLogger(__name__)

MAX_LINE = 64 * 1024
DEFAULT_TIMEOUT_S = 10.0


class ControlError(OutriderError):
    """The vehicle refused a control request, or could not be reached."""

    default_code = "sim_control_failed"


def _fault(value: Any) -> Fault:
    if isinstance(value, str):
        return parse_fault(value)
    try:
        return Fault.model_validate(value)
    except ValidationError as exc:
        raise ControlError(f"bad fault: {exc.errors()[0]['msg']}", code="invalid_fault") from exc


def _number(req: dict[str, Any], key: str) -> float:
    value = req.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ControlError(f"{key!r} must be a finite number", code="invalid_field")
    return float(value)


def _handle(vehicle: SimVehicle, req: dict[str, Any]) -> dict[str, Any]:
    op = req.get("op")
    if op == "state":
        return {"ok": True, "state": vehicle.truth()}
    if op == "fault":
        vehicle.faults.inject(_fault(req.get("fault")))
        return {"ok": True}
    if op == "clear":
        kind = req.get("kind")
        try:
            cleared = vehicle.faults.clear(None if kind is None else FaultKind(kind))
        except ValueError as exc:
            raise ControlError(f"unknown fault kind {kind!r}", code="invalid_fault") from exc
        return {"ok": True, "cleared": cleared}
    if op == "wind":
        speed, from_deg = _number(req, "speed_mps"), _number(req, "from_deg")
        if not 0 <= speed <= 40:
            raise ControlError("wind speed must be 0..40 m/s", code="out_of_range")
        vehicle.set_wind(speed, from_deg)
        return {"ok": True}
    if op == "speed_factor":
        value = _number(req, "value")
        if not 0 < value <= 200:
            raise ControlError("speed factor must be in (0, 200]", code="out_of_range")
        vehicle.speed_factor = value
        return {"ok": True}
    if op == "param":
        return _param(vehicle, req)
    if op == "charge":
        added = _number(req, "pct")
        if not 0 <= added <= 100:
            raise ControlError("charge must be 0..100 %", code="out_of_range")
        battery = vehicle.state.battery
        battery.set_pct(min(100.0, battery.pct + added))
        return {"ok": True, "battery_pct": battery.pct}
    raise ControlError(f"unknown op {op!r}", code="unknown_type")


def _param(vehicle: SimVehicle, req: dict[str, Any]) -> dict[str, Any]:
    name = req.get("name")
    if not isinstance(name, str):
        raise ControlError("'name' must be a string", code="invalid_field")
    try:
        if "value" in req:
            vehicle.state.params.set(name, _number(req, "value"))
        return {"ok": True, "value": vehicle.state.params[name]}
    except (UnknownParam, KeyError) as exc:
        raise ControlError(f"unknown parameter {name!r}", code="invalid_field") from exc


def answer(vehicle: SimVehicle, line: bytes) -> dict[str, Any]:
    """The reply to one request line; never raises."""
    try:
        req = json.loads(line)
        if not isinstance(req, dict):
            raise ControlError("a request is a JSON object", code="malformed_json")
        return _handle(vehicle, req)
    except OutriderError as exc:
        return {"ok": False, "code": exc.code, "reason": exc.reason}
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return {"ok": False, "code": "malformed_json", "reason": str(exc)[:200]}


async def _serve_client(
    vehicle: SimVehicle, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while line := await reader.readline():
            reply = answer(vehicle, line)
            writer.write(json.dumps(reply, default=str).encode() + b"\n")
            await asyncio.wait_for(writer.drain(), DEFAULT_TIMEOUT_S)
    except (ConnectionError, asyncio.LimitOverrunError, ValueError, TimeoutError):
        pass
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def serve_control(vehicle: SimVehicle) -> AsyncIterator[int]:
    """Listen on the vehicle's control port; yields the port actually bound."""

    clients: set[asyncio.Task[None]] = set()

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        clients.add(task)
        try:
            await _serve_client(vehicle, reader, writer)
        except asyncio.CancelledError:
            pass  # closed at the stop below; asyncio 3.11 logs a handler that ends cancelled
        finally:
            clients.discard(task)

    server = await asyncio.start_server(
        client, vehicle.config.host, vehicle.config.bind_control_port, limit=MAX_LINE
    )
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        # connections still open would be destroyed pending when the loop closes
        for task in list(clients):
            task.cancel()
        await asyncio.gather(*clients, return_exceptions=True)


class ControlClient:
    """A connection to one vehicle's control socket.

    Args:
        port: the vehicle's control port.
        host: where the vehicle runs.
        timeout_s: how long to wait for the connection and for each reply.
    """

    def __init__(
        self, port: int, host: str = "127.0.0.1", timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._io: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        try:
            self._io = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, limit=4 * MAX_LINE), self.timeout_s
            )
        except (OSError, TimeoutError) as exc:
            raise ControlError(
                f"no sim vehicle control socket at {self.host}:{self.port}", code="sim_unreachable"
            ) from exc
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._io is not None:
            self._io[1].close()
            with contextlib.suppress(OSError):
                await asyncio.wait_for(self._io[1].wait_closed(), self.timeout_s)
            self._io = None

    async def request(self, req: dict[str, Any]) -> dict[str, Any]:
        """Send one request and return the reply.

        Raises:
            ControlError: the vehicle refused it (its ``code``) or went away.
        """
        if self._io is None:
            raise ControlError("control client is not connected", code="sim_unreachable")
        reader, writer = self._io
        async with self._lock:
            try:
                writer.write(json.dumps(req).encode() + b"\n")
                await asyncio.wait_for(writer.drain(), self.timeout_s)
                line = await asyncio.wait_for(reader.readline(), self.timeout_s)
            except (OSError, TimeoutError) as exc:
                raise ControlError("sim vehicle did not answer", code="sim_unreachable") from exc
        if not line:
            raise ControlError("sim vehicle closed the control socket", code="sim_unreachable")
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            raise ControlError(str(reply.get("reason")), code=str(reply.get("code")))
        return reply
