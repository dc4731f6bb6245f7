"""The MAVLink parameter protocol as PX4 answers it (PARAM_REQUEST_LIST / _READ, PARAM_SET).

PARAM_SET of the wrong type or an unknown name is refused without an echo, as PX4 does; a
good one is echoed with PARAM_VALUE twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sim.vehicle.autopilot.params import (
    ParamStore,
    ParamTypeMismatch,
    UnknownParam,
    WireParam,
    decode_value,
    encode_value,
)
from sim.vehicle.mavlink.messages import Message, mavlink

__all__ = ["ParamProtocol"]

logger = logging.getLogger(__name__)


def _name(raw: str | bytes) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    return raw.split("\x00", 1)[0][:16]


class ParamProtocol:
    """Answers parameter messages for one vehicle.

    Args:
        params: the vehicle's parameters.
        sysid: the vehicle's system id.
        send: sends a message to the ground station.
        on_set: called with the name of each parameter changed.
    """

    def __init__(
        self,
        params: ParamStore,
        sysid: int,
        send: Callable[[Message], None],
        on_set: Callable[[str], None] = lambda name: None,
    ) -> None:
        self.params = params
        self.sysid = sysid
        self.send = send
        self.on_set = on_set
        self._handlers: dict[str, Callable[[Message], None]] = {
            "PARAM_REQUEST_LIST": self._list,
            "PARAM_REQUEST_READ": self._read,
            "PARAM_SET": self._set,
        }

    def handles(self, name: str) -> bool:
        return name in self._handlers

    def handle(self, msg: Message) -> None:
        if msg.target_system not in (0, self.sysid):
            return
        self._handlers[msg.get_type()](msg)

    def _value(self, param: WireParam) -> Message:
        return mavlink.MAVLink_param_value_message(
            param.name.encode("ascii"), encode_value(param), param.type, param.count, param.index
        )

    def _list(self, msg: Message) -> None:
        for param in self.params.all():
            self.send(self._value(param))

    def _read(self, msg: Message) -> None:
        key: str | int = msg.param_index if msg.param_index >= 0 else _name(msg.param_id)
        try:
            self.send(self._value(self.params.wire(key)))
        except UnknownParam:
            logger.info("parameter %r requested but unknown", key)

    def _set(self, msg: Message) -> None:
        name = _name(msg.param_id)
        try:
            param = self.params.set(
                name, decode_value(msg.param_value, msg.param_type), msg.param_type
            )
        except UnknownParam:
            logger.info("PARAM_SET of unknown parameter %r refused", name)
            return
        except ParamTypeMismatch:
            logger.info("PARAM_SET of %r with type %d refused", name, msg.param_type)
            return
        self.on_set(name)
        value = self._value(param)
        self.send(value)
        self.send(value)
