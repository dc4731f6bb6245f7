"""Shared fixtures: a real MQTT broker of the test's own on a free port; the sim drivers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sim.broker import LocalBroker, local_broker
from sim.drivers import register

register()  # `type = "sim"` docks and cameras, as the command line's wiring makes them


@pytest.fixture
async def broker() -> AsyncIterator[LocalBroker]:
    """Mosquitto on a free port when installed, else the embedded amqtt broker."""
    async with local_broker() as b:
        yield b
