"""The MAVLink mission protocol as PX4 speaks it: upload, download, clear and set current.

Upload: MISSION_COUNT, then the vehicle asks for each item with MISSION_REQUEST_INT (re-asking
every 0.25 s, giving up after 5 s of silence) and ends with MISSION_ACK. Download:
MISSION_REQUEST_LIST is answered with MISSION_COUNT and each MISSION_REQUEST_INT with a
MISSION_ITEM_INT. The float variants (MISSION_ITEM, MISSION_REQUEST) work too. Plan, geofence
and rally points are kept apart by ``mission_type``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.flight.mavlink_enums import (
    MAV_MISSION_ACCEPTED,
    MAV_MISSION_ERROR,
    MAV_MISSION_INVALID_SEQUENCE,
    MAV_MISSION_NO_SPACE,
    MAV_MISSION_TYPE_ALL,
    MAV_MISSION_TYPE_MISSION,
    MAV_MISSION_UNSUPPORTED,
)
from sim.vehicle.autopilot.mission_store import (
    GLOBAL_FRAMES,
    MAX_ITEMS,
    MISSION_TYPES,
    MissionItem,
    MissionStore,
    check_item,
)
from sim.vehicle.mavlink.messages import Message, mavlink

__all__ = ["MissionProtocol"]

logger = logging.getLogger(__name__)

RETRY_S = 0.25
GIVE_UP_S = 5.0


@dataclass
class _Upload:
    kind: int
    count: int
    peer: tuple[int, int]
    use_int: bool = True
    items: list[MissionItem] = field(default_factory=list)
    asked_at: float = 0.0
    progress_at: float = 0.0


def item_from_message(msg: Message) -> MissionItem:
    """A stored item from MISSION_ITEM_INT or MISSION_ITEM (float degrees)."""
    is_int = msg.get_type() == "MISSION_ITEM_INT"
    scale = 1e-7 if is_int and msg.frame in GLOBAL_FRAMES else 1.0
    return MissionItem(
        seq=msg.seq, frame=msg.frame, command=msg.command, current=msg.current,
        autocontinue=msg.autocontinue, param1=msg.param1, param2=msg.param2,
        param3=msg.param3, param4=msg.param4, lat=msg.x * scale, lon=msg.y * scale,
        z=msg.z, mission_type=getattr(msg, "mission_type", 0),
    )  # fmt: skip


def _int_coord(item: MissionItem, value: float) -> int:
    raw = value * 1e7 if item.frame in GLOBAL_FRAMES else value
    return max(-(2**31), min(2**31 - 1, round(raw)))


class MissionProtocol:
    """Handles the mission messages of one vehicle.

    Args:
        store: the vehicle's mission lists.
        sysid: the vehicle's system id (messages for other systems are ignored).
        send: sends a message to the ground station.
        wall: the wall clock.
        on_changed: called with the mission type after an upload or clear.
        on_set_current: called after the current item changed.
    """

    def __init__(
        self,
        store: MissionStore,
        sysid: int,
        send: Callable[[Message], None],
        wall: Callable[[], float],
        on_changed: Callable[[int], None],
        on_set_current: Callable[[], None],
    ) -> None:
        self.store = store
        self.sysid = sysid
        self.send = send
        self.wall = wall
        self.on_changed = on_changed
        self.on_set_current = on_set_current
        self._upload: _Upload | None = None
        self._handlers: dict[str, Callable[[Message], None]] = {
            "MISSION_COUNT": self._count,
            "MISSION_ITEM_INT": self._item,
            "MISSION_ITEM": self._item,
            "MISSION_REQUEST_LIST": self._request_list,
            "MISSION_REQUEST_INT": self._request,
            "MISSION_REQUEST": self._request,
            "MISSION_CLEAR_ALL": self._clear,
            "MISSION_SET_CURRENT": self._set_current,
            "MISSION_ACK": lambda msg: None,
        }

    def handles(self, name: str) -> bool:
        return name in self._handlers

    def handle(self, msg: Message) -> None:
        """Process one mission message addressed to this vehicle (or to all)."""
        if msg.target_system not in (0, self.sysid):
            return
        self._handlers[msg.get_type()](msg)

    def tick(self) -> None:
        """Re-ask for a missing item, or give up on an upload that went silent."""
        up, now = self._upload, self.wall()
        if up is None:
            return
        if now - up.progress_at > GIVE_UP_S:
            logger.info("mission upload timed out at item %d of %d", len(up.items), up.count)
            self._upload = None
        elif now - up.asked_at > RETRY_S:
            self._ask(up)

    @property
    def uploading(self) -> bool:
        return self._upload is not None

    # ------------------------------------------------------------ upload
    def _ack(self, peer: tuple[int, int], result: int, kind: int) -> None:
        self.send(mavlink.MAVLink_mission_ack_message(peer[0], peer[1], result, kind))

    def _count(self, msg: Message) -> None:
        peer, kind = (msg.get_srcSystem(), msg.get_srcComponent()), msg.mission_type
        if kind not in MISSION_TYPES:
            self._ack(peer, MAV_MISSION_UNSUPPORTED, kind)
            return
        if msg.count > MAX_ITEMS:
            self._ack(peer, MAV_MISSION_NO_SPACE, kind)
            return
        if msg.count == 0:
            self._upload = None
            self.store.clear(kind)
            self._ack(peer, MAV_MISSION_ACCEPTED, kind)
            self.on_changed(kind)
            return
        now = self.wall()
        self._upload = _Upload(kind, msg.count, peer, progress_at=now)
        self._ask(self._upload)

    def _ask(self, up: _Upload) -> None:
        seq = len(up.items)
        cls = mavlink.MAVLink_mission_request_int_message
        if not up.use_int:
            cls = mavlink.MAVLink_mission_request_message
        self.send(cls(up.peer[0], up.peer[1], seq, up.kind))
        up.asked_at = self.wall()

    def _item(self, msg: Message) -> None:
        up = self._upload
        if up is None or getattr(msg, "mission_type", 0) != up.kind:
            return
        if msg.seq != len(up.items):
            if msg.seq > len(up.items):
                self._ask(up)
            return
        item = item_from_message(msg)
        result = check_item(item)
        if result != MAV_MISSION_ACCEPTED:
            self._upload = None
            self._ack(up.peer, result, up.kind)
            return
        up.items.append(item)
        up.use_int = msg.get_type() == "MISSION_ITEM_INT"
        up.progress_at = self.wall()
        if len(up.items) < up.count:
            self._ask(up)
            return
        self._upload = None
        self.store.replace(up.kind, up.items)
        self._ack(up.peer, MAV_MISSION_ACCEPTED, up.kind)
        self.on_changed(up.kind)

    # ---------------------------------------------------------- download
    def _request_list(self, msg: Message) -> None:
        kind = msg.mission_type
        count = len(self.store.items(kind))
        self.send(
            mavlink.MAVLink_mission_count_message(
                msg.get_srcSystem(), msg.get_srcComponent(), count, kind
            )
        )

    def _request(self, msg: Message) -> None:
        peer, kind = (msg.get_srcSystem(), msg.get_srcComponent()), msg.mission_type
        items = self.store.items(kind)
        if not 0 <= msg.seq < len(items):
            self._ack(peer, MAV_MISSION_INVALID_SEQUENCE, kind)
            return
        it = items[msg.seq]
        current = int(kind == MAV_MISSION_TYPE_MISSION and it.seq == self.store.current)
        if msg.get_type() == "MISSION_REQUEST_INT":
            x, y = _int_coord(it, it.lat), _int_coord(it, it.lon)
            cls = mavlink.MAVLink_mission_item_int_message
        else:
            x, y, cls = it.lat, it.lon, mavlink.MAVLink_mission_item_message
        fields = (it.seq, it.frame, it.command, current, it.autocontinue)
        params = (it.param1, it.param2, it.param3, it.param4)
        self.send(cls(peer[0], peer[1], *fields, *params, x, y, it.z, kind))

    # ------------------------------------------------------ clear, current
    def _clear(self, msg: Message) -> None:
        kind = msg.mission_type
        kinds = list(MISSION_TYPES) if kind == MAV_MISSION_TYPE_ALL else [kind]
        peer = (msg.get_srcSystem(), msg.get_srcComponent())
        if not all(k in MISSION_TYPES for k in kinds):
            self._ack(peer, MAV_MISSION_UNSUPPORTED, kind)
            return
        for k in kinds:
            self.store.clear(k)
        self._ack(peer, MAV_MISSION_ACCEPTED, kind)
        for k in kinds:
            self.on_changed(k)

    def _set_current(self, msg: Message) -> None:
        if self.store.set_current(msg.seq):
            self.on_set_current()
            return
        peer = (msg.get_srcSystem(), msg.get_srcComponent())
        self._ack(peer, MAV_MISSION_ERROR, MAV_MISSION_TYPE_MISSION)
