"""Shared fixtures: a real MQTT broker of the test's own on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sim.broker import LocalBroker, local_broker


@pytest.fixture
async def broker() -> AsyncIterator[LocalBroker]:
    """Mosquitto on a free port when installed, else the embedded amqtt broker."""
    async with local_broker() as b:
        yield b
