"""A broker that loses its store mid-sortie, with dispatch away: the timeline is still whole.

Dispatch is stopped while the drone is en route; the edge reports reaching the scene, the
broker takes the events for dispatch's session, and then the broker is restarted without its
store, so they are gone: past the broker's acknowledgement, the edge's outbox has let them go
too. The next event dispatch hears shows the gap in the sortie's numbering, dispatch asks the
dock to send the missing events again, and the dock sends them from its own record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dispatch.conftest import wait_for
from tests.faults.checks import dock_events
from tests.faults.rig import Rig


@pytest.mark.timeout(300)
async def test_a_broker_that_loses_its_store_mid_sortie_loses_no_event_for_good(
    tmp_path: Path,
) -> None:
    async with Rig(tmp_path) as rig:
        incident_id = await rig.raise_incident(on_scene_s=1.0)
        await rig.reach("en_route")
        await rig.stop_dispatch()
        await rig.listener.event("on_scene", 60)  # kept at the broker for dispatch's session...
        await rig.broker.restart(1.0, lose_store=True)  # ...and lost with the broker's store
        await rig.start_dispatch()

        def ended() -> bool:
            return "charging" in [e["type"] for e in dock_events(rig, incident_id)]

        await rig.listener.wait(ended, 150, "sortie ended")
        emitted = dock_events(rig, incident_id)

        async def all_stored() -> list[dict[str, Any]] | None:
            stored = await rig.stored_events(incident_id)
            return stored if {e["id"] for e in stored} >= {e["id"] for e in emitted} else None

        stored = await wait_for(all_stored, limit_s=30, every=0.2)
        await rig.dispatch.runtime.drain()
        ids = [e["id"] for e in stored]
        assert len(ids) == len(set(ids))  # each once
        # The test's own listener lost what the broker lost too; dispatch may hold more.
        assert set(ids) >= {e["id"] for e in emitted}

        detail = await rig.incident(incident_id)
        events = [line for line in detail["timeline"] if line["kind"] == "event"]
        assert sorted(line["type"] for line in events) == sorted(e["type"] for e in stored)
        gaps = [line for line in detail["timeline"] if line["type"] == "gap"]
        assert gaps and "not received" in gaps[0]["text"]
        assert "resend" in [line["type"] for line in detail["timeline"] if line["kind"] == "ack"]
        assert detail["status"] == "completed"
