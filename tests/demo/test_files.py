"""The files a run writes: TOML that the real loaders of dispatch and the edge accept."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.config import load_settings
from edge.config import load_config
from outrider.demo.config import DemoConfig
from outrider.demo.files import DemoTokens, RunFiles, dispatch_settings, dumps_toml, edge_settings

TOKENS = DemoTokens("a" * 20, "d" * 20, "v" * 20, "e" * 20)
keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8)
scalars = st.one_of(
    st.integers(-(2**62), 2**62),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20),
    st.booleans(),
)
documents = st.recursive(
    st.dictionaries(keys, st.one_of(scalars, st.lists(scalars, max_size=3)), max_size=4),
    lambda inner: st.dictionaries(
        keys, st.one_of(scalars, inner, st.lists(inner, min_size=1, max_size=2)), max_size=4
    ),
    max_leaves=20,
)


@given(documents)
def test_any_document_of_tables_lists_and_scalars_reads_back_the_same(
    doc: dict[str, object],
) -> None:
    assert tomllib.loads(dumps_toml(doc)) == doc


def test_dispatch_reads_its_generated_settings_with_time_on_scene_scaled(
    city: DemoConfig, tmp_path: Path
) -> None:
    files = RunFiles(tmp_path)
    settings = dispatch_settings(
        city, files, mqtt_url="mqtt://127.0.0.1:1", port=9, tokens=TOKENS, speed_factor=10
    )
    path = tmp_path / "dispatch.toml"
    path.write_text(dumps_toml(settings))
    loaded = load_settings(path)
    assert loaded.port == 9 and loaded.mqtt_url == "mqtt://127.0.0.1:1"
    assert loaded.dispatch.on_scene.duration_s == pytest.approx(city.dispatch.on_scene_s / 10)
    assert loaded.db_url == f"sqlite:///{tmp_path / 'dispatch.db'}"
    assert {t.role for t in loaded.tokens} == {"admin", "dispatcher", "viewer", "edge"}
    edge = next(t for t in loaded.tokens if t.role == "edge")
    assert edge.docks == [d.id for d in city.docks]  # an edge token streams for its docks only
    assert [(d.id, d.public_key_file) for d in loaded.docks] == [
        (d.id, files.dock_public_key(d.id)) for d in city.docks
    ]
    assert [Path(p) for p in loaded.airspace.no_fly] == city.nofly


@pytest.mark.parametrize("px4", [False, True])
def test_each_edge_reads_its_generated_config_with_wall_clock_figures_scaled(
    city: DemoConfig, tmp_path: Path, px4: bool
) -> None:
    files = RunFiles(tmp_path)
    dock = city.docks[1]
    model = tmp_path / "model.onnx"
    settings = edge_settings(
        city,
        dock,
        files,
        mqtt_url="mqtt://127.0.0.1:1",
        vehicle_url="udpin://127.0.0.1:2",
        charger=None if px4 else "127.0.0.1:3",
        dispatch_url="http://127.0.0.1:4",
        tokens=TOKENS,
        speed_factor=1.0 if px4 else 10.0,
        model=model,
        px4=px4,
    )
    path = files.edge_config(dock.id)
    path.parent.mkdir(parents=True)
    path.write_text(dumps_toml(settings))
    config = load_config(path)
    assert config.dock.id == dock.id and config.dock.home.lat == dock.lat
    factor = 1.0 if px4 else 10.0
    assert config.dock.hardware.lid_time_s == pytest.approx(city.flight.lid_time_s / factor)
    assert config.dock.hardware.charge_pct_per_s == pytest.approx(
        city.flight.charge_pct_per_s * factor
    )
    assert config.dock.hardware.vehicle_control == (None if px4 else "127.0.0.1:3")
    assert config.vehicle.params == ({} if px4 else config.vehicle.params) and (
        px4 or config.vehicle.params["NAV_DLL_ACT"] == 2
    )
    assert config.signing.public_key == files.keys / "dispatch_ed25519.pub.pem"
    assert config.signing.key == files.dock_key(dock.id) and not config.signing.allow_unsigned
    assert config.video is not None
    assert config.video.fps == min(city.video.fps * factor, city.video.max_wall_fps)
    assert config.video.uplink.url == "http://127.0.0.1:4"
    assert config.video.camera.type == "sim" and config.video.camera.scene == files.scene
