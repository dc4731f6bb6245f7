"""Dock driver for a dock controller that answers a small JSON API over HTTP.

The controller's API (JSON, UTF-8; with ``token`` set every request carries
``Authorization: Bearer <token>``)::

    GET  /status   -> {"lid": "closed", "charging": false, "wind_mps": 3.2, "wind_from_deg": 270}
    POST /lid      {"position": "open" | "closed"}  -> any 2xx once the move has begun
    POST /charger  {"on": true | false}             -> any 2xx

``lid`` is one of ``open``, ``closed``, ``opening``, ``closing``, ``unknown``; a ``null`` wind
means the sensor has no reading; other keys are ignored. The driver reads ``/status`` every
``poll_s``. A controller that stops answering makes the lid ``unknown`` and the wind unknown
(so the dock is not ready) until it answers again; the charger is switched as asked once it
does. A controller that does not answer when the edge starts is a :class:`~edge.dock.DockError`
``dock_unreachable``; an answer that is not the JSON above is ``dock_bad_reply``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Final, Literal, Self

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from edge.dock import DockError, DockHardwareConfig
from edge.energy import Wind
from edge.protocol import DockStatus

__all__ = ["KEY", "HttpDock", "HttpDockConfig", "open_dock", "parse_status"]

logger = logging.getLogger(__name__)

KEY: Final = "http"
MOVE_POLL_S = 0.2
UNREACHABLE = "dock_unreachable"
BAD_REPLY = "dock_bad_reply"
UNKNOWN = DockStatus(lid="unknown", charging=False)


class HttpDockConfig(DockHardwareConfig):
    """A dock controller on the network (``[dock.hardware] type = "http"``)."""

    type: Literal["http"] = KEY
    url: str = Field(pattern=r"^https?://[^/\s]+", title="Base URL of the dock controller")
    token: SecretStr | None = Field(None, title="Bearer token the controller expects")
    lid_time_s: float = Field(
        20.0, ge=0, title="Time the lid takes to open or close (counted in the launch estimate)"
    )
    timeout_s: float = Field(2.0, gt=0, le=30, title="Longest wait for one controller answer")
    poll_s: float = Field(1.0, gt=0, le=60, title="How often the status is read")
    stale_s: float = Field(5.0, gt=0, title="A status older than this counts as unknown")


class _Reply(BaseModel):
    """The controller's ``/status`` answer."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    lid: Literal["open", "closed", "opening", "closing", "unknown"]
    charging: bool
    wind_mps: float | None = Field(None, ge=0, le=150)
    wind_from_deg: float | None = Field(None, ge=0, le=360)


def parse_status(body: bytes) -> DockStatus:
    """The dock status in a controller's ``/status`` answer.

    Raises:
        DockError: ``dock_bad_reply`` when the bytes are not the expected JSON object.
    """
    try:
        reply = _Reply.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise DockError(
            f"the dock controller's status is not valid: {where}: {first['msg']}", code=BAD_REPLY
        ) from None
    wind_from = None if reply.wind_from_deg is None else reply.wind_from_deg % 360.0
    return DockStatus(
        lid=reply.lid,
        charging=reply.charging,
        wind_mps=reply.wind_mps,
        wind_from_deg=wind_from if reply.wind_mps is not None else None,
    )


class HttpDock:
    """A dock controller over HTTP, as an async context manager.

    Args:
        config: the ``[dock.hardware]`` table.
    """

    def __init__(self, config: HttpDockConfig) -> None:
        self.config = config
        self._client: httpx.AsyncClient | None = None
        self._status = UNKNOWN
        self._read_at: float | None = None
        self._charger_wanted: bool | None = None
        self._down = False
        self._poller: asyncio.Task[None] | None = None
        self._polled = asyncio.Condition()
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Self:
        token = self.config.token
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
        self._client = await self._stack.enter_async_context(
            httpx.AsyncClient(
                base_url=self.config.url,
                headers=headers,
                timeout=self.config.timeout_s,
            )
        )
        try:
            await self._refresh()
            tasks = await self._stack.enter_async_context(asyncio.TaskGroup())
            self._poller = tasks.create_task(self._poll())
        except BaseException:
            await self._stack.aclose()
            raise
        logger.info("dock controller %s answers: lid %s", self.config.url, self._status.lid)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._poller is not None:
            self._poller.cancel()
        self._poller = None
        await self._stack.aclose()
        self._client = None

    # -- talking to the controller ----------------------------------------------------------

    async def _request(self, method: str, path: str, body: object = None) -> bytes:
        if self._client is None:
            raise DockError("the dock is not connected (use it inside `async with`)")
        try:
            response = await self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise DockError(
                f"the dock controller at {self.config.url} does not answer "
                f"({type(exc).__name__}: {str(exc) or 'no answer'}); check that it is "
                "powered, on the network, and at [dock.hardware] url",
                code=UNREACHABLE,
            ) from exc
        if not response.is_success:
            raise DockError(
                f"the dock controller refused {method} {path}: HTTP {response.status_code}",
                code=BAD_REPLY if response.status_code < 500 else UNREACHABLE,
            )
        return response.content

    async def _refresh(self) -> DockStatus:
        self._status = parse_status(await self._request("GET", "/status"))
        self._read_at = asyncio.get_running_loop().time()
        if self._down:
            logger.info("dock controller %s answers again", self.config.url)
        self._down = False
        return self._status

    async def _poll(self) -> None:
        """Read the status every ``poll_s``, and switch the charger as last asked."""
        while True:
            await asyncio.sleep(self.config.poll_s)  # the polling rate itself
            try:
                status = await self._refresh()
                wanted = self._charger_wanted
                if wanted is not None and status.charging != wanted:
                    await self._request("POST", "/charger", {"on": wanted})
            except DockError as exc:
                if not self._down:
                    logger.warning("dock controller: %s", exc)
                self._down = True
            async with self._polled:
                self._polled.notify_all()

    async def next_poll(self) -> None:
        """Return after the next status poll, whether the controller answered or not."""
        async with self._polled:
            await self._polled.wait()

    # -- the Dock protocol ------------------------------------------------------------------

    def status(self) -> DockStatus:
        """The latest reading; lid and wind unknown when it is older than ``stale_s``."""
        if self._read_at is None:
            return UNKNOWN
        age = asyncio.get_running_loop().time() - self._read_at
        return self._status if age <= self.config.stale_s else UNKNOWN

    def wind(self) -> Wind | None:
        """The latest wind reading, ``None`` when there is none or it is stale."""
        status = self.status()
        if status.wind_mps is None:
            return None
        return Wind(status.wind_mps, status.wind_from_deg or 0.0)

    async def open_lid(self, timeout_s: float) -> None:
        """Ask the controller to open the lid and wait until it reports it open."""
        await self._move("open", timeout_s)

    async def close_lid(self, timeout_s: float) -> None:
        """Ask the controller to close the lid and wait until it reports it closed."""
        await self._move("closed", timeout_s)

    async def set_charging(self, on: bool) -> None:
        """Switch the charger; a controller that does not answer is asked again when it does."""
        self._charger_wanted = on
        try:
            await self._request("POST", "/charger", {"on": on})
        except DockError as exc:
            logger.warning("charger not switched %s yet: %s", "on" if on else "off", exc)

    async def _move(self, to: Literal["open", "closed"], timeout_s: float) -> None:
        last: DockError | None = None
        try:
            async with asyncio.timeout(timeout_s):
                await self._request("POST", "/lid", {"position": to})
                while True:
                    try:
                        if (await self._refresh()).lid == to:
                            return
                    except DockError as exc:  # keep asking until the time is up
                        last = exc
                    await asyncio.sleep(MOVE_POLL_S)  # the controller's own pace
        except TimeoutError:
            verb = "open" if to == "open" else "close"
            why = f": {last.reason}" if last else f"; it reports {self._status.lid}"
            raise DockError(
                f"lid did not {verb} within {timeout_s:g} s{why}",
                code=last.code if last else "dock_not_ready",
            ) from None


def open_dock(config: HttpDockConfig) -> HttpDock:
    """The driver for ``config`` (connected on ``async with``)."""
    return HttpDock(config)
