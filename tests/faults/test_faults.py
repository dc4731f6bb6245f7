"""The fault suite: a real sortie, raised in dispatch, flown by the edge and the sim vehicle, hit by
one fault in one phase; it must end safe, with every event once and in order and no command
carried out twice (see :mod:`tests.faults.checks`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.edge.helpers import FULL_SORTIE
from tests.faults.checks import settle
from tests.faults.rig import Rig
from tests.faults.scenarios import CASES, NORMAL, Case

MATRIX = [
    pytest.param(case, id=case.id, marks=() if case in NORMAL else (pytest.mark.slow,))
    for case in CASES
]


@pytest.mark.timeout(400)
@pytest.mark.parametrize("case", MATRIX)
async def test_a_sortie_hit_by_a_fault_ends_safe_with_every_event_once_and_no_command_twice(
    case: Case, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    spec = case.spec
    ending = spec.ending(case.phase)
    async with Rig(tmp_path, **spec.rig) as rig:
        incident = await rig.raise_incident(on_scene_s=8.0 if case.phase == "on_scene" else 3.0)
        await rig.reach(case.phase)
        await spec.inject(rig)
        settled = await settle(rig, incident, ending=ending, within=240.0)
    record_property("ending", ending)
    record_property("failsafe", settled.failsafe)
    for kind in spec.must_see(case.phase):
        assert kind in settled.types, f"no {kind} event: {settled.types}"
    if spec.full_sortie:
        assert settled.types == FULL_SORTIE[:-1]  # ready is the dock's own, not the incident's
    if ending == "dock" and "on_scene" in settled.types:
        assert settled.status == "completed", settled.status
    elif ending == "dock":  # home without reaching the scene: the incident is open again
        assert settled.status == "unassigned", (settled.status, settled.types)
        assert "unserved" in [line["type"] for line in settled.timeline]
    else:
        assert settled.status in ("failsafe", "aborted") and settled.failsafe, settled
