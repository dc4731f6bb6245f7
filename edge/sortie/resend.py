"""The ``resend`` command: numbered events of a sortie that dispatch missed, sent again.

Every event of a sortie is kept in the edge's SQLite file (:meth:`edge.outbox.Outbox.keep_event`)
after the outbox has let it go, so dispatch can ask for one that was lost beyond the broker (a
broker that lost its store). Sent again, an event keeps its id: dispatch stores it once.
"""

from __future__ import annotations

from collections.abc import Callable

from edge.comms.dispatcher import Outcome
from edge.errors import RefusedError
from edge.outbox import Outbox
from edge.protocol import AckCode, Command, Event, ResendCommand

__all__ = ["SortieLog"]


class SortieLog:
    """The kept events of recent sorties, and the handler of ``resend``.

    Args:
        outbox: where they are kept.
        send: queues an event for publishing (the link's outbox).
    """

    def __init__(self, outbox: Outbox, send: Callable[[Event], object]) -> None:
        self.outbox = outbox
        self.send = send

    def keep(self, event: Event) -> None:
        """Keep ``event`` when it is a numbered event of a sortie."""
        if event.sortie_id is not None and event.seq is not None:
            self.outbox.keep_event(event.sortie_id, event.seq, event.model_dump_json())

    async def resend(self, cmd: Command, received: float) -> Outcome:
        """Send again the events asked for that are kept.

        Raises:
            RefusedError: ``unknown_sortie`` when none of them is kept here.
        """
        assert isinstance(cmd, ResendCommand)  # the dispatcher routes by type
        body = cmd.body
        kept = self.outbox.kept_events(body.sortie_id, sorted(set(body.seqs)))
        if not kept:
            raise RefusedError(
                f"no event of sortie {body.sortie_id} asked for is kept here",
                code=AckCode.UNKNOWN_SORTIE,
            )
        for text in kept:
            self.send(Event.model_validate_json(text))
        return Outcome(
            sortie_id=body.sortie_id, reason=f"{len(kept)} of {len(body.seqs)} events sent again"
        )
