"""Hypothesis strategies that build valid v1 messages and commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from edge.patterns.hold import HoldPattern
from edge.patterns.orbit import OrbitPattern
from edge.protocol import (
    AbortBody,
    AbortCommand,
    Ack,
    AckCode,
    AirframeFigures,
    DetectedObject,
    Detections,
    DispatchBody,
    DispatchCommand,
    DockStatus,
    Event,
    EventType,
    GeoPoint,
    Limits,
    Phase,
    PingCommand,
    Position,
    Reason,
    RecallCommand,
    RetaskBody,
    RetaskCommand,
    State,
    Telemetry,
)


def finite(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)


times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
ids = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=40)
dock_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True)
short_text = st.text(max_size=60)
lat, lon = finite(-90, 90), finite(-180, 180)
# Any JSON value, nested a little: for fuzzing parsers of JSON from outside.
json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=16,
)
points = st.builds(GeoPoint, lat=lat, lon=lon)
positions = st.builds(
    Position,
    lat=lat,
    lon=lon,
    alt_rel_m=st.none() | finite(-500, 5000),
    alt_amsl_m=st.none() | finite(-500, 9000),
)
reasons = st.builds(Reason, code=st.text(max_size=20), reason=short_text)
pct = finite(0, 100)
airframes = st.builds(
    AirframeFigures,
    battery_wh=finite(1, 1000),
    mass_kg=finite(0.1, 30),
    hover_power_w=finite(1, 5000),
    drag_w_per_mps2=finite(0, 10),
    propulsion_efficiency=finite(0.1, 1),
    max_airspeed_mps=finite(1, 40),
)
limits = st.builds(
    Limits,
    max_range_m=finite(1, 50_000),
    reserve_pct=pct,
    ceiling_m=finite(1, 500),
    pad_height_m=finite(0, 200),
    wind_limit_mps=finite(1, 30),
    transit_alt_m=finite(1, 500),
    cruise_mps=finite(1, 30),
    climb_mps=finite(0.1, 10),
    descent_mps=finite(0.1, 10),
    orbit_speed_mps=finite(0.5, 30),
    airspace_margin_m=st.none() | finite(0, 1000),
    launch_overhead_s=finite(0, 120),
    airframe=airframes,
    camera_hfov_deg=st.none() | finite(1, 170),
)
docks = st.builds(
    DockStatus,
    lid=st.sampled_from(["open", "closed", "opening", "closing", "unknown"]),
    charging=st.booleans(),
    wind_mps=st.none() | finite(0, 60),
    wind_from_deg=st.none() | finite(0, 359.9),
)

states = st.builds(
    State,
    dock_id=dock_ids,
    t=times,
    phase=st.sampled_from(Phase),
    ready=st.booleans(),
    not_ready=st.lists(reasons, max_size=3),
    sortie_id=st.none() | ids,
    incident_id=st.none() | ids,
    target=st.none() | points,
    battery_pct=st.none() | pct,
    position=st.none() | positions,
    home=positions,
    dock=docks,
    limits=st.none() | limits,
)
telemetry = st.builds(
    Telemetry,
    dock_id=dock_ids,
    t=times,
    lat=lat,
    lon=lon,
    alt_rel_m=finite(-500, 5000),
    alt_amsl_m=finite(-500, 9000),
    heading_deg=finite(0, 360),
    ground_speed_mps=finite(0, 100),
    battery_pct=pct,
    flight_mode=st.text(max_size=16),
    armed=st.booleans(),
    in_air=st.booleans(),
    gps_fix=st.integers(0, 6),
)
events = st.builds(
    Event,
    id=ids,
    dock_id=dock_ids,
    sortie_id=st.none() | ids,
    incident_id=st.none() | ids,
    type=st.sampled_from(EventType),
    at=times,
    phase=st.none() | st.sampled_from(Phase),
    detail=st.dictionaries(st.text(max_size=10), st.integers() | short_text | st.booleans()),
)
objects = st.builds(
    DetectedObject,
    track_id=st.none() | st.integers(0, 10**6),
    cls=st.text(max_size=20),
    conf=finite(0, 1),
    bbox=st.lists(finite(0, 4096), min_size=4, max_size=4),
    geo=st.none() | points,
)
detections = st.builds(
    Detections,
    dock_id=dock_ids,
    sortie_id=st.none() | ids,
    frame=st.integers(0, 10**9),
    t=times,
    objects=st.lists(objects, max_size=5),
)
acks = st.builds(
    Ack,
    cmd_id=st.none() | ids,
    dock_id=dock_ids,
    ok=st.booleans(),
    code=st.sampled_from(AckCode),
    reason=short_text,
    at=times,
    failures=st.lists(reasons, max_size=3),
    sortie_id=st.none() | ids,
)

on_scenes = st.builds(
    OrbitPattern,
    radius_m=finite(5, 500),
    duration_s=finite(0, 3600),
    speed_mps=st.none() | finite(0.5, 30),
) | st.builds(HoldPattern, duration_s=finite(0, 3600))
alts = st.none() | finite(0.5, 1000)


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, object]:
    issued = draw(times)
    return {
        "id": draw(ids),
        "dock_id": draw(dock_ids),
        "issued_at": issued,
        "expires_at": issued + timedelta(seconds=draw(st.integers(0, 3600))),
        "sig": draw(st.none() | st.text(max_size=88)),
    }


dispatch_bodies = st.builds(
    DispatchBody,
    incident_id=ids,
    target=points,
    alt_rel_m=alts,
    priority=st.integers(1, 5),
    on_scene=st.none() | on_scenes,
)
commands = st.one_of(
    st.builds(lambda e, b: DispatchCommand(**e, body=b), envelopes(), dispatch_bodies),
    st.builds(
        lambda e, b: RetaskCommand(**e, body=b),
        envelopes(),
        st.builds(RetaskBody, target=points, alt_rel_m=alts, on_scene=st.none() | on_scenes),
    ),
    st.builds(lambda e: RecallCommand(**e), envelopes()),
    st.builds(
        lambda e, a: AbortCommand(**e, body=AbortBody(action=a)),
        envelopes(),
        st.sampled_from(["hold", "land_now", "rtl"]),
    ),
    st.builds(lambda e: PingCommand(**e), envelopes()),
)
