"""Liveness and readiness per instance, and draining: what a load balancer and a deploy see."""

from __future__ import annotations

from sim.broker import LocalBroker
from tests.dispatch.conftest import RunningDispatch, wait_for


async def test_a_draining_instance_is_alive_but_not_ready(
    dispatch_service: RunningDispatch,
) -> None:
    async with dispatch_service.client(None) as anyone:
        ready = await anyone.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ok"

        dispatch_service.runtime.begin_drain()
        ready = await anyone.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready" and ready.json()["draining"] is True
        alive = await anyone.get("/healthz")
        assert alive.status_code == 200 and alive.json()["draining"] is True


async def test_an_instance_without_its_broker_is_alive_but_not_ready(
    dispatch_service: RunningDispatch, broker: LocalBroker
) -> None:
    async with dispatch_service.client(None) as anyone:
        await broker.stop()

        async def not_ready() -> bool:
            return (await anyone.get("/readyz")).status_code == 503

        await wait_for(not_ready)
        body = (await anyone.get("/readyz")).json()
        assert body["mqtt"] == "disconnected" and body["store"] == "ok"
        assert (await anyone.get("/healthz")).status_code == 200

        await broker.start()

        async def ready() -> bool:
            return (await anyone.get("/readyz")).status_code == 200

        await wait_for(ready, limit_s=15)
