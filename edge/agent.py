"""The edge agent of one dock: every part put together and run in one TaskGroup.

:class:`EdgeAgent` owns the outbox, the dock, the vehicle, the MQTT link, the command
dispatcher, the sortie runner and the failsafe monitor, and publishes ``state`` (retained,
on every change) and ``telemetry`` (at the configured rate). The video pipeline, when the
config has a ``[video]`` section and a starter is given, runs during the airborne part of each
sortie: :meth:`EdgeAgent._video_session` is the one place it is entered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.airspace import NoFlyZone, load_zones
from edge.comms.dispatcher import CommandDispatcher
from edge.comms.link import MqttLink
from edge.config import EdgeConfig
from edge.dock import Dock, open_dock
from edge.evidence import EvidenceUploader
from edge.evidence.http import HttpUploadTransport
from edge.failsafe import FailsafeMonitor
from edge.flight.vehicle import Vehicle
from edge.geo import LatLon, distance_m
from edge.geoproject import CameraPose
from edge.outbox import Outbox
from edge.protocol import Detections, Event, EventType, Kind, Phase, State, Telemetry
from edge.protocol.signing import load_private_key, load_public_keys
from edge.sortie.handlers import CommandHandlers
from edge.sortie.machine import SortieMachine
from edge.sortie.pilot import Pilot
from edge.sortie.resend import SortieLog
from edge.sortie.runner import SortieRunner
from edge.state import snapshot
from edge.video.config import VideoConfig
from edge.video.scene_view import SceneView

__all__ = ["EdgeAgent", "VideoSession", "VideoStarter"]

logger = logging.getLogger(__name__)

SORTIE_KEY = "sortie"
UNSIGNED_WARNING = (
    "!" * 72,
    "DEVELOPMENT MODE: [signing] allow_unsigned = true and no public_key of dispatch.",
    "This edge carries out UNSIGNED commands: anyone who can publish on the broker can",
    "launch, retask or recall this drone. Never run a dock in service like this.",
    "!" * 72,
)
STATE_REFRESH_S = 5.0
LOOKING_AT_SCENE = frozenset({Phase.EN_ROUTE, Phase.ON_SCENE})
"""Phases the camera points at the scene in (en route: only within APPROACH_M of it)."""
APPROACH_M = 150.0
LEAVING_SCENE = frozenset(
    {
        EventType.RETURNING,
        EventType.RECALLED,
        EventType.RETASKED,
        EventType.ABORTED,
        EventType.FAILSAFE,
    }
)
"""Phases the camera points at the scene in (once it is near enough: its gimbal decides)."""


def _no_scene() -> LatLon | None:
    return None


def _ignore(in_view: bool | None) -> None:
    return None


@dataclass(frozen=True)
class VideoSession:
    """What the video pipeline gets for one sortie: its config, the airframe's pose, a
    publisher, the scene to point the camera at (when there is one to look at) and where to
    report the share of recent frames with the scene in view."""

    config: VideoConfig
    dock_id: str
    sortie_id: str | None
    incident_id: str | None
    pose: Callable[[], CameraPose | None]
    publish_detections: Callable[[Detections], Awaitable[None]]
    scene: Callable[[], LatLon | None] = _no_scene
    report_scene_in_view: Callable[[bool | None], None] = _ignore


VideoStarter = Callable[[VideoSession], AbstractAsyncContextManager[Any]]


def make_vehicle(config: EdgeConfig) -> Vehicle:
    """The MAVSDK vehicle of the config's ``[vehicle]`` section.

    The vehicle needs no driver registry: a real PX4, PX4 SITL and the sim vehicle all speak
    MAVLink, so ``vehicle.url`` is the whole choice.
    """
    from edge.flight.mavsdk_vehicle import MavsdkVehicle

    return MavsdkVehicle(config.vehicle, config.autopilot_params())


class EdgeAgent:
    """One dock's agent.

    Args:
        config: the validated configuration.
        dock: the dock driver (default: from ``config.dock.hardware``).
        vehicle: the vehicle (default: MAVSDK on ``config.vehicle.url``).
        video: starts the video pipeline for a sortie, if the config has ``[video]``.
    """

    def __init__(
        self,
        config: EdgeConfig,
        *,
        dock: Dock | None = None,
        vehicle: Vehicle | None = None,
        video: VideoStarter | None = None,
    ) -> None:
        self.config = config
        self.dock_id = config.dock.id
        self.dock = dock or open_dock(config.dock.hardware)
        self.vehicle = vehicle or make_vehicle(config)
        self.video = video
        self.zones: list[NoFlyZone] = [z for p in config.airspace.nofly for z in load_zones(p)]
        self.outbox = Outbox(config.state_dir / "edge.sqlite3")
        self.machine = SortieMachine(self.dock_id, self._emit, self._changed)
        self.pilot = Pilot(config, self.machine, self.vehicle, self.dock, self.zones)
        self.runner: SortieRunner | None = None
        self.link: MqttLink | None = None
        self.sortie_log = SortieLog(self.outbox, self._send_event)
        self.dispatcher: CommandDispatcher | None = None
        self.uploader: EvidenceUploader | None = None
        self.started = asyncio.Event()
        self._state_key: tuple[Any, ...] | None = None
        self.scene_view = SceneView()
        """The incident in the picture: recent frames for telemetry, the scene for its event."""

    # -- wiring ---------------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        assert self.link is not None
        if event.type is EventType.ON_SCENE:
            self.scene_view.reset()
        elif event.type in LEAVING_SCENE and self.scene_view.on_scene_frames:
            event = event.model_copy(update={"detail": {**event.detail, **self._scene_tally()}})
            self.scene_view.reset()
        self.link.send(Kind.EVENTS, event)
        self.sortie_log.keep(event)

    def _send_event(self, event: Event) -> None:
        if self.link is not None:
            self.link.send(Kind.EVENTS, event)

    def _scene_tally(self) -> dict[str, Any]:
        """What the sortie saw of the scene while on it (for the event that leaves it)."""
        v = self.scene_view
        return {
            "scene_in_view": round(v.on_scene() or 0.0, 4),
            "scene_frames": v.on_scene_frames,
        }

    def _changed(self) -> None:
        m = self.machine
        if m.sortie_id is None:
            record = None
        else:
            record = {
                "sortie_id": m.sortie_id,
                "incident_id": m.incident_id,
                "seq": m.seq,
                "phase": m.phase.value,
                "target": m.target.model_dump() if m.target else None,
                "alt_rel_m": self.pilot.alt,
            }
        self.outbox.save(SORTIE_KEY, record)
        if record is None and self.uploader is not None:
            self.uploader.wake()
        self._publish_state()

    def _publish_state(self) -> None:
        if self.link is not None:
            state = self.state()
            self._state_key = _key(state)
            self.link.set_state(state)

    def state(self) -> State:
        """The ``state`` snapshot now."""
        busy = self.runner is None or self.runner.busy
        return snapshot(
            self.config, self.machine, self.vehicle.state, self.dock.status(), busy=busy
        )

    # -- running --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until cancelled; a clean stop says ``offline`` on the way out."""
        key, own_key = self._keys()
        async with contextlib.AsyncExitStack() as stack:
            stack.enter_context(self.outbox)
            await stack.enter_async_context(self.dock)
            await stack.enter_async_context(self.vehicle)
            record = self.outbox.load(SORTIE_KEY)
            self.runner = SortieRunner(
                self.pilot, self.machine, record=record, video=self._video_factory()
            )
            handlers = CommandHandlers(
                self.config, self.zones, self.machine, self.runner, self.vehicle, self.dock
            )
            self.dispatcher = CommandDispatcher(
                self.dock_id,
                {**handlers.table(), "resend": self.sortie_log.resend},
                self.outbox,
                lambda ack: self.link.send(Kind.ACK, ack) if self.link else None,
                public_key=key,
                window_s=self.config.signing.window_s,
            )
            self.link = MqttLink(
                self.config.mqtt, self.dock_id, self.outbox, self._receive, key=own_key
            )
            monitor = FailsafeMonitor(
                self.config,
                self.machine,
                self.vehicle,
                self.zones,
                self.runner.interrupt,
                lambda: self.runner.leg if self.runner else None,
                self.dock.wind,
                self.link.down_for,
            )
            self._publish_state()
            transport = self._upload_transport()
            if transport is not None:
                await stack.enter_async_context(transport)
            async with asyncio.TaskGroup() as tasks:
                if self.uploader is not None:
                    tasks.create_task(self.uploader.run())
                tasks.create_task(self.link.run())
                tasks.create_task(self.runner.run())
                tasks.create_task(monitor.run())
                tasks.create_task(self._telemetry())
                tasks.create_task(self._watch_state())
                self.started.set()

    def _keys(self) -> tuple[list[Ed25519PublicKey] | None, Ed25519PrivateKey | None]:
        """Dispatch's public key(s) and this dock's own key; what is missing is said loudly.

        Raises:
            ConfigError: when a configured key file cannot be read.
        """
        signing = self.config.signing
        public = load_public_keys(signing.public_key) if signing.public_key else None
        own = load_private_key(signing.key) if signing.key else None
        if public is None:
            for line in UNSIGNED_WARNING:
                logger.warning("%s: %s", self.dock_id, line)
        if own is None:
            logger.warning(
                "%s: [signing] key is not set: this dock publishes unsigned messages, which "
                "dispatch refuses unless it too runs in development mode",
                self.dock_id,
            )
        return public, own

    async def _receive(self, payload: bytes) -> None:
        assert self.dispatcher is not None
        await self.dispatcher.handle(payload)

    async def _telemetry(self) -> None:
        """Publish telemetry at the configured rate (QoS 0, newest wins)."""
        period = 1.0 / self.config.telemetry.rate_hz
        while True:
            s = self.vehicle.state
            if s.lat is not None and s.lon is not None and self.link is not None:
                self.link.set_latest(
                    Kind.TELEMETRY,
                    Telemetry(
                        dock_id=self.dock_id,
                        lat=s.lat,
                        lon=s.lon,
                        alt_rel_m=s.alt_rel_m or 0.0,
                        alt_amsl_m=s.alt_amsl_m or 0.0,
                        heading_deg=s.heading_deg % 360.0,
                        ground_speed_mps=max(0.0, s.ground_speed_mps),
                        battery_pct=s.battery_pct or 0.0,
                        flight_mode=s.flight_mode[:32],
                        armed=s.armed,
                        in_air=s.in_air,
                        gps_fix=max(0, min(8, s.gps_fix)),
                        scene_in_view=self.scene_view.recent(),
                    ),
                )
            await asyncio.sleep(period)  # the publishing rate itself

    async def _watch_state(self) -> None:
        """Republish ``state`` when readiness, dock or battery change (and every few seconds)."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            with contextlib.suppress(Exception):
                await self.vehicle.next_state(1.0)
            state = self.state()
            if _key(state) != self._state_key or loop.time() - last > STATE_REFRESH_S:
                last = loop.time()
                self._publish_state()

    def _upload_transport(self) -> HttpUploadTransport | None:
        """The evidence upload, when recordings are kept and there is somewhere to send them."""
        video, cfg = self.config.video, self.config.evidence
        if video is None or video.recording.dir is None or not cfg.upload:
            return None
        uplink = video.uplink.url
        first = uplink if not isinstance(uplink, list) else uplink[0] if uplink else None
        url = cfg.url or first
        token = cfg.token or video.uplink.token
        if url is None:
            return None
        transport = HttpUploadTransport(
            url, self.dock_id, token.get_secret_value() if token else None, cfg.timeout_s
        )
        self.uploader = EvidenceUploader(
            video.recording.dir,
            transport,
            chunk_bytes=cfg.chunk_bytes,
            keep_after_upload=cfg.keep_after_upload,
            busy=lambda: self.machine.sortie_id is not None,
            backoff_s=cfg.backoff_s,
        )
        return transport

    # -- the video seam -------------------------------------------------------------------------

    def _video_factory(self) -> Callable[[], AbstractAsyncContextManager[Any]] | None:
        if self.config.video is None or self.video is None:
            return None
        starter, video_config = self.video, self.config.video
        return lambda: self._video_session(starter, video_config)

    def _video_session(
        self, starter: VideoStarter, video_config: VideoConfig
    ) -> AbstractAsyncContextManager[Any]:
        """The one place the video pipeline is entered, with a pose source and a publisher."""
        height = self.config.dock.home.height_above_ground_m

        def pose() -> CameraPose | None:
            s = self.vehicle.state
            if s.lat is None or s.lon is None:
                return None
            agl = max(0.0, (s.alt_rel_m or 0.0) + height)
            return CameraPose(s.lat, s.lon, agl, s.heading_deg, alt_amsl_m=s.alt_amsl_m)

        async def publish(message: Detections) -> None:
            if self.link is not None:
                self.link.set_latest(Kind.DETECTIONS, message)

        def scene() -> LatLon | None:
            target, phase, s = self.machine.target, self.machine.phase, self.vehicle.state
            if target is None or phase not in LOOKING_AT_SCENE:
                return None
            point = LatLon(target.lat, target.lon)
            if phase is Phase.ON_SCENE:
                return point
            if s.lat is None or s.lon is None:
                return None
            near = distance_m(LatLon(s.lat, s.lon), point) <= APPROACH_M
            return point if near else None  # on transit the camera looks ahead

        def report(in_view: bool | None) -> None:
            self.scene_view.add(in_view, self.machine.phase is Phase.ON_SCENE)

        session = VideoSession(
            video_config,
            self.dock_id,
            self.machine.sortie_id,
            self.machine.incident_id,
            pose,
            publish,
            scene,
            report,
        )
        return starter(session)


def _key(state: State) -> tuple[Any, ...]:
    """What makes a state worth republishing at once (position alone does not)."""
    return (
        state.phase,
        state.ready,
        tuple(r.code for r in state.not_ready),
        state.sortie_id,
        state.dock.lid,
        state.dock.charging,
        round(state.dock.wind_mps or -1.0),
        round(state.battery_pct or -1.0),
    )
