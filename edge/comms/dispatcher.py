"""Commands in, acks out: the checks every command passes, then one handler per command type.

The order of checks, each with its ``ack`` code:

1. parse (``too_large``, ``malformed_json``, ``unsupported_version``, ``unknown_type``,
   ``invalid_field``);
2. addressed to this dock (``wrong_dock``);
3. when a dispatch public key is configured: signed (``unsigned``) by that key
   (``bad_signature``);
4. not seen before (``duplicate``; ``replayed`` for a signed command), and when signing is on,
   ``issued_at`` within the replay window (``replayed``);
5. not expired (``expired``);
6. the handler for its type, found through a dict, decides (``accepted`` or its refusal code).

Every payload gets exactly one ack, and nothing a payload holds can raise out of
:meth:`CommandDispatcher.handle`: an unexpected error becomes ``internal_error``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.errors import OutriderError, ProtocolError, RefusedError
from edge.outbox import Outbox
from edge.protocol import Ack, AckCode, Command, Reason, now_utc, parse_command
from edge.protocol.signing import verify

__all__ = ["CommandDispatcher", "Handler", "Outcome"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """A handler's decision on a command."""

    code: AckCode = AckCode.ACCEPTED
    reason: str = ""
    sortie_id: str | None = None
    failures: list[Reason] = field(default_factory=list)


Handler = Callable[[Command, float], Awaitable[Outcome]]


class CommandDispatcher:
    """Checks each command and routes it to the handler of its type.

    Args:
        dock_id: this dock.
        handlers: command type -> handler, awaited with the command and the event-loop time
            it was received.
        outbox: where handled command ids are remembered across restarts.
        send_ack: publishes an ack (through the outbox).
        public_key: dispatch's Ed25519 key (or keys, during a rotation); when given, unsigned
            commands are refused.
        window_s: with signing on, the oldest (or most future) ``issued_at`` accepted.
        clock: the current time (tests move it).
    """

    def __init__(
        self,
        dock_id: str,
        handlers: Mapping[str, Handler],
        outbox: Outbox,
        send_ack: Callable[[Ack], object],
        *,
        public_key: Ed25519PublicKey | Sequence[Ed25519PublicKey] | None = None,
        window_s: float = 300.0,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.dock_id = dock_id
        self.handlers = dict(handlers)
        self.outbox = outbox
        self.send_ack = send_ack
        self.public_key = public_key
        self.window = timedelta(seconds=window_s)
        self.clock = clock

    async def handle(self, payload: bytes) -> Ack:
        """Decide on one raw ``cmd`` payload and publish its ack."""
        received = asyncio.get_running_loop().time()
        cmd_id: str | None = None
        try:
            cmd = parse_command(payload)
            cmd_id = cmd.id
            outcome = await self._decide(cmd, received)
        except ProtocolError as exc:
            outcome = Outcome(AckCode(exc.code), exc.reason)
            cmd_id = exc.cmd_id if cmd_id is None else cmd_id
        except Exception:  # nothing a command holds may take the agent down
            logger.exception("%s: command %r could not be handled", self.dock_id, cmd_id)
            outcome = Outcome(AckCode.INTERNAL_ERROR, "the edge failed to handle this command")
        ack = Ack(
            cmd_id=cmd_id,
            dock_id=self.dock_id,
            ok=outcome.code is AckCode.ACCEPTED,
            code=outcome.code,
            reason=outcome.reason[:2000],
            failures=outcome.failures[:64],
            sortie_id=outcome.sortie_id,
        )
        self.send_ack(ack)
        return ack

    async def _decide(self, cmd: Command, received: float) -> Outcome:
        if cmd.dock_id != self.dock_id:
            return Outcome(
                AckCode.WRONG_DOCK, f"command is for {cmd.dock_id!r}; this is {self.dock_id!r}"
            )
        signed = self.public_key is not None
        if self.public_key is not None:
            try:
                verify(cmd, self.public_key)
            except RefusedError as exc:
                return Outcome(AckCode(exc.code), exc.reason)
        now = self.clock()
        if refusal := self._seen_before(cmd.id, signed):
            return refusal
        if signed and abs(now - cmd.issued_at) > self.window:
            return Outcome(
                AckCode.REPLAYED,
                f"issued_at {cmd.issued_at.isoformat()} is outside the "
                f"{self.window.total_seconds():g} s window around {now.isoformat()}",
            )
        if cmd.expired(now):
            return Outcome(AckCode.EXPIRED, f"command expired at {cmd.expires_at.isoformat()}")
        if not self.outbox.claim_command(cmd.id, cmd.type, signed=signed):
            return self._seen_before(cmd.id, signed) or Outcome(AckCode.DUPLICATE, "seen before")
        if not signed:
            logger.warning(
                "%s: carrying out UNSIGNED %s %r: development mode, no dispatch key configured",
                self.dock_id,
                cmd.type,
                cmd.id[:64],
            )
        outcome = await self._run(cmd, received)
        self.outbox.settle_command(cmd.id, outcome.code.value)
        return outcome

    def _seen_before(self, cmd_id: str, signed: bool) -> Outcome | None:
        record = self.outbox.command(cmd_id)
        if record is None:
            return None
        when = datetime.fromtimestamp(record.at, UTC).isoformat(timespec="seconds")
        code = AckCode.REPLAYED if signed else AckCode.DUPLICATE
        return Outcome(
            code, f"command {cmd_id[:64]!r} was already handled at {when} ({record.code})"
        )

    async def _run(self, cmd: Command, received: float) -> Outcome:
        handler = self.handlers.get(cmd.type)
        if handler is None:
            return Outcome(AckCode.UNKNOWN_TYPE, f"this edge has no handler for {cmd.type!r}")
        try:
            return await handler(cmd, received)
        except RefusedError as exc:
            failures = list(getattr(exc, "failures", []))
            return Outcome(_code(exc.code), exc.reason, failures=failures)
        except OutriderError as exc:
            return Outcome(_code(exc.code), exc.reason)
        except Exception:  # a handler bug must not leave the command undecided
            logger.exception("%s: handler for %s %r failed", self.dock_id, cmd.type, cmd.id)
            return Outcome(AckCode.INTERNAL_ERROR, "the edge failed to handle this command")


def _code(code: str) -> AckCode:
    try:
        return AckCode(code)
    except ValueError:
        return AckCode.INTERNAL_ERROR
