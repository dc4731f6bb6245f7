"""The running dispatch service: every part, wired once, with its background tasks owned.

:class:`Runtime` is an async context manager: entering opens the store, loads the signing
key and no-fly zones, and starts the MQTT loop and the recorder in a task group; leaving
stops them and closes the store. The web app holds one for its lifetime.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Coroutine, Mapping
from types import TracebackType
from typing import Any, Self

from dispatch.acks import AckWatch
from dispatch.auth import Authenticator
from dispatch.bus import Bus, MqttBus, dispatch_broker
from dispatch.choice import Chooser
from dispatch.claims import Claims
from dispatch.commander import Commander
from dispatch.config import DispatchSettings
from dispatch.docks import DockRegistry
from dispatch.evidence.flights import FlightLog
from dispatch.evidence.retention import RetentionJob
from dispatch.evidence.store import LocalFolderStore
from dispatch.evidence.uploads import UploadService
from dispatch.fleet import Fleet
from dispatch.incidents import IncidentService
from dispatch.ingest import Ingest, subscriptions
from dispatch.interop.aid import MutualAid
from dispatch.interop.folder import FolderWatcher
from dispatch.interop.intake import CadIntake
from dispatch.interop.lend import Lender
from dispatch.interop.signing import SIGNATURE_HEADER, SOURCE_HEADER, check_headers
from dispatch.interop.updates import UpdateHub
from dispatch.interop.webhooks import Webhooks
from dispatch.launch import LaunchWatch
from dispatch.limits import LoginGuard, RequestLimits
from dispatch.metrics import Metrics
from dispatch.queue import IncidentQueue
from dispatch.recorder import Recorder
from dispatch.store.sql import SqlStore
from dispatch.takeover import Takeover
from dispatch.tiles import MapTiles
from dispatch.video_bus import make_video_bus
from dispatch.video_relay import VideoRelay
from dispatch.video_snapshot import Snapshots
from edge.airspace import NoFlyZone, load_zones
from edge.comms.mqtt import redact_url
from edge.protocol.signing import load_private_key
from edge.ratelimit import Budgets

__all__ = ["Runtime"]

logger = logging.getLogger(__name__)

MAX_QUEUED_MESSAGES = 50_000
DRAIN_ON_EXIT_S = 5.0


class Runtime:
    """All parts of one dispatch instance.

    Args:
        settings: the service settings.
        bus: the MQTT link; an :class:`MqttBus` on ``settings.mqtt_url`` by default.
        store: the store; a :class:`SqlStore` on ``settings.db_url`` by default.
        keep_samples: telemetry ages to keep for benchmarks.
    """

    def __init__(
        self,
        settings: DispatchSettings,
        *,
        bus: Bus | None = None,
        store: SqlStore | None = None,
        keep_samples: int = 0,
    ) -> None:
        self.settings = settings
        cfg = settings.dispatch
        self.metrics = Metrics()
        self.store = store or SqlStore(settings.db_url)
        cluster = settings.cluster
        self.name = cluster.instance or f"{socket.gethostname()}-{os.getpid()}"
        self.bus: Bus = bus or MqttBus(
            dispatch_broker(settings),
            subscriptions(cluster.shared_group),
            client_id=settings.mqtt_client_id,
            persistent=True,
            max_queued=MAX_QUEUED_MESSAGES,
            on_dropped=self.metrics.dropped.inc,
        )
        self.key = load_private_key(settings.signing_key)
        self.zones: list[NoFlyZone] = [
            zone for path in settings.airspace.no_fly for zone in load_zones(path)
        ]
        self.map = MapTiles(settings.map)
        self.fleet = Fleet(stale_after_s=cfg.stale_after_s)
        self.chooser = Chooser(self.fleet, self.zones, settings.airspace.margin_m)
        self.commander = Commander(self.bus, self.store, self.key, self.metrics)
        self.acks = AckWatch(self.store, self.commander)
        self.claims = Claims(self.store, self.name)
        self.incidents = IncidentService(
            self.store,
            self.fleet,
            self.chooser,
            self.commander,
            cfg,
            self.metrics,
            claims=self.claims,
            cluster_lease_s=cluster.lease_s,
        )
        self.queue = IncidentQueue(self.incidents, self.fleet, self.chooser)
        self.launches = LaunchWatch(self.incidents, self.spawn, cfg.airborne_deadline_s)
        self.incidents.on_assigned = self.launches.start
        self.takeover = Takeover(self.incidents, self.queue, self.launches, cluster.sweep_s)
        self.recorder = Recorder(
            self.store,
            self.incidents,
            self.commander,
            self.metrics,
            spawn=self.spawn,
            launches=self.launches,
            batch_max=cfg.store_batch_max,
            shared=bool(cluster.shared_group),
        )
        self.docks = DockRegistry(settings.docks, allow_unsigned=settings.allow_unsigned_docks)
        self.flights = FlightLog(self.fleet, self.recorder.put, settings.evidence.track_interval_s)
        self.segments = LocalFolderStore(settings.evidence.dir)
        self.uploads = UploadService(self.store, self.segments, settings.evidence)
        self.retention = RetentionJob(self.store, self.segments, settings.retention)
        self.ingest = Ingest(
            self.docks,
            self.fleet,
            self.commander,
            self.recorder,
            self.metrics,
            keep_samples=keep_samples,
            budgets=Budgets(cfg.dock_rate_per_s, cfg.dock_burst),
            flights=self.flights,
        )
        self.video = VideoRelay(self.metrics, make_video_bus(settings.cluster))
        self.snapshots = Snapshots()
        self.auth = Authenticator(
            settings.tokens,
            settings.secret.get_secret_value().encode(),
            self.store,
            session_ttl_s=settings.session_ttl_s,
            link_max_ttl_s=settings.link_max_ttl_s,
        )
        self.limits = RequestLimits(settings.limits)
        self.logins = LoginGuard(settings.limits)
        self._interop(settings)
        self.draining = False
        self._stack: contextlib.AsyncExitStack | None = None
        self._group: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def signed_source(self, headers: Mapping[str, str]) -> str:
        """The CAD system or neighbouring force a signed request names, checked by its headers.

        Raises:
            AuthError: ``unknown_source``, ``bad_signature`` or ``stale_request``.
        """
        cfg = self.settings.interop
        known = frozenset(c.name for c in cfg.cad) | frozenset(p.name for p in cfg.peers)
        return check_headers(
            headers.get(SOURCE_HEADER), headers.get(SIGNATURE_HEADER), known, cfg.replay_window_s
        )

    def _interop(self, settings: DispatchSettings) -> None:
        """CAD intake, the update stream and its webhooks, and mutual aid, wired once."""
        cfg = settings.interop
        self.updates = UpdateHub(self.store)
        self.webhooks = Webhooks(self.store, cfg)
        self.updates.sinks.append(self.webhooks.enqueue)
        self.intake = CadIntake(self.store, self.incidents, cfg)
        replay = self.intake.replay  # one memory of signatures for every signed endpoint
        self.aid = MutualAid(self.store, cfg, replay)
        self.incidents.remote = self.aid
        self.lender = Lender(self.store, self.incidents, self.webhooks, self.auth, cfg, replay)
        self.folders = [FolderWatcher(folder, self.intake) for folder in cfg.folders]

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise RuntimeError("runtime is already running")
        stack = contextlib.AsyncExitStack()
        try:
            await stack.enter_async_context(self.store)
            await stack.enter_async_context(self.video)
            group = self._group = await stack.enter_async_context(asyncio.TaskGroup())
            self._tasks = [
                group.create_task(self.bus.run(self.ingest), name="mqtt"),
                group.create_task(self.recorder.run(), name="recorder"),
                group.create_task(self.queue.run(), name="queue"),
                group.create_task(self.acks.run(), name="acks"),
                group.create_task(self.store.chain_forever(), name="audit-chain"),
                group.create_task(self.takeover.run(), name="takeover"),
                group.create_task(self.updates.run(), name="updates"),
                group.create_task(self.webhooks.run(), name="webhooks"),
                *(group.create_task(f.run(), name=f"folder:{f.folder.path}") for f in self.folders),
            ]
            if self.settings.retention.enabled:
                self._tasks.append(group.create_task(self.retention.every(), name="retention"))
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        logger.info(
            "dispatch runtime up: instance %s, store %s, broker %s%s, %d no-fly zones",
            self.name,
            self.store.dialect,
            redact_url(self.settings.mqtt_url),
            f" (shared group {group_name})"
            if (group_name := self.settings.cluster.shared_group)
            else "",
            len(self.zones),
        )
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        stack, self._stack = self._stack, None
        # Stop taking messages first, then store (and acknowledge, still connected) what was
        # already taken; whatever the broker sent meanwhile waits for the next session.
        self.begin_drain()
        try:
            await self.drain(DRAIN_ON_EXIT_S)
        except TimeoutError:
            logger.error(
                "stopping with %d reported messages not stored", self.recorder.queue.qsize()
            )
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        if stack is not None:
            await stack.aclose()
            logger.info("dispatch runtime stopped")

    def begin_drain(self) -> None:
        """Stop taking new work (SIGTERM, a deploy): not ready any more (``/readyz``), no more
        MQTT messages taken; what was taken is still stored before the runtime stops."""
        if not self.draining:
            logger.info("draining: taking no new messages; storing the %d taken", self.pending)
        self.draining = True
        self.bus.stop_taking()

    @property
    def pending(self) -> int:
        """Reported messages taken and not yet stored."""
        return self.recorder.queue.qsize()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the runtime's task group (cancelled when the runtime stops)."""
        if self._group is None:
            coro.close()
            raise RuntimeError("runtime is not running")
        self._tasks.append(self._group.create_task(coro))
        self._tasks = [t for t in self._tasks if not t.done()]

    async def drain(self, limit_s: float = 10.0) -> None:
        """Wait until every queued event and ack is stored (tests and shutdown)."""
        async with asyncio.timeout(limit_s):
            await self.recorder.queue.join()
