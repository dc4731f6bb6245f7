"""Detections a dispatcher can trust: classes of interest, per-class thresholds, one track per
object, confirmed over several frames, with a smoothed place on the ground."""

from __future__ import annotations

import pytest

from edge.detect import Detection
from edge.geo import LatLon, destination, distance_m
from edge.video.config import TrackerConfig
from edge.video.interest import Interest

SPOT = LatLon(60.1686, 24.9418)
IDS = {"person": 0, "bicycle": 1, "car": 2, "bus": 5, "truck": 7, "kite": 33, "frisbee": 29}


def det(cls: str, x: float, conf: float = 0.8, w: float = 40.0) -> Detection:
    return Detection(IDS[cls], cls, conf, (x, 100.0, x + w, 200.0))


def test_only_classes_of_interest_count_and_each_class_has_its_own_threshold() -> None:
    interest = Interest(thresholds={"person": 0.3})
    found = [det("kite", 10, 0.4), det("frisbee", 100, 0.39), det("person", 200, 0.35)]
    chosen = interest.select(found)
    assert [d.cls for d in chosen] == ["person"]
    tracker = TrackerConfig(thresholds={"person": 0.3}, confirm_frames=1).tracker()
    bus_faint = det("bus", 400, 0.35, w=120)
    out = tracker.update([chosen[0], bus_faint])
    assert out[0].track_id is not None  # 0.35 starts a person track (threshold 0.3)
    assert out[1].track_id is None  # but not a bus track (the default, 0.4)


def test_a_bus_the_model_also_calls_a_truck_is_one_object_with_one_track() -> None:
    interest, tracker = Interest(), TrackerConfig(confirm_frames=1).tracker()
    frames = [
        [det("bus", 300, 0.8, w=120), det("truck", 305, 0.5, w=118)],
        [det("truck", 302, 0.7, w=120)],
        [det("bus", 304, 0.85, w=120), det("car", 306, 0.3, w=110)],
    ]
    ids, classes = set(), set()
    for found in frames:
        chosen = interest.select(found)
        assert len(chosen) == 1
        (t,) = tracker.update(chosen)
        ids.add(t.track_id)
        classes.add(t.cls)
    assert len(ids) == 1 and classes == {"bus"}


def test_a_track_reaches_the_list_only_once_confirmed_over_three_frames() -> None:
    tracker = TrackerConfig().tracker()
    seen = [tracker.update([det("person", 100 + 3 * i)])[0].track_id for i in range(5)]
    assert seen[:2] == [None, None] and seen[2] is not None and len(set(seen[2:])) == 1
    assert TrackerConfig().tracker().update([det("person", 100)])[0].track_id is None


def test_a_box_that_jumped_keeps_its_track_by_its_place_on_the_ground_which_is_smoothed() -> None:
    tracker = TrackerConfig(confirm_frames=1).tracker()
    jitter = [0.0, 3.0, -2.0, 2.5, -1.5, 0.5]
    ids, geos = set(), []
    for i, dx in enumerate(jitter):
        box_x = 50.0 + 150.0 * (i % 3)  # the drone circles: the box jumps across the frame
        spot = destination(SPOT, 90.0, dx)
        (t,) = tracker.update([det("person", box_x)], [spot])
        ids.add(t.track_id)
        geos.append(t.geo)
    assert len(ids) == 1
    raw_spread = max(jitter) - min(jitter)
    smooth = [distance_m(g, SPOT) for g in geos[2:] if g is not None]
    assert max(smooth) < raw_spread / 2
    far = destination(SPOT, 0.0, 20.0)
    (other,) = tracker.update([det("person", 500)], [far])
    assert other.track_id not in ids  # another person 20 m away is another track


@pytest.mark.parametrize("bad", [{"classes": []}, {"thresholds": {"person": 1.5}}])
def test_bad_tracker_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        TrackerConfig.model_validate(bad)
