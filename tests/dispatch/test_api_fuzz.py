"""The OpenAPI contract under schemathesis: no server errors, every answer as documented."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.dispatch.conftest import TOKENS, RunningDispatch
from tests.dispatch.test_incidents_api import docks_seen, near

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


async def fuzz(service: RunningDispatch, report: Path, examples: int) -> tuple[int, int, str]:
    """Run schemathesis against the live service; (exit code, requests sent, output)."""
    cmd = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{service.url}/openapi.json",
        "--header",
        f"Authorization: Bearer {TOKENS['admin']}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(examples),
        "--exclude-path-regex",
        # endless streams; and webhook subscriptions, whose generated URLs would be POSTed to
        r"mjpeg|/api/v1/stream$|/api/v1/subscriptions$",
        "--workers",
        "1",
        "--seed",
        "7",
        "--generation-database",
        "none",
        "--request-timeout",
        "20",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--no-color",
    ]
    done = await asyncio.to_thread(
        subprocess.run, cmd, capture_output=True, text=True, timeout=3600, cwd=report.parent
    )
    requests = 0
    for line in (await asyncio.to_thread(report.read_text)).splitlines():
        event = json.loads(line)
        if "ScenarioFinished" in event:
            recorder = event["ScenarioFinished"].get("recorder") or {}
            requests += len(recorder.get("interactions") or {})
    return done.returncode, requests, done.stdout[-4000:] + done.stderr[-2000:]


async def run_contract(
    service: RunningDispatch, edge_factory, tmp_path: Path, examples: int
) -> int:
    async with edge_factory("near", *near(0, 800)), edge_factory("far", *near(90, 2000)):
        await docks_seen(service, 2)
        code, requests, output = await fuzz(service, tmp_path / "events.ndjson", examples)
    assert code == 0, output
    return requests


# The contract, not the rate limits, is under test: one client sends thousands of requests.
UNLIMITED = {
    "address_rate_per_s": 1e6,
    "address_burst": 1_000_000,
    "write_rate_per_s": 1e6,
    "write_burst": 1_000_000,
}


@pytest.fixture
async def fuzzed_service(make_settings) -> AsyncIterator[RunningDispatch]:
    async with RunningDispatch(make_settings(limits=UNLIMITED)) as service:
        yield service


async def test_the_api_holds_its_contract_under_generated_requests(
    fuzzed_service: RunningDispatch, edge_factory, tmp_path: Path
) -> None:
    requests = await run_contract(fuzzed_service, edge_factory, tmp_path, examples=15)
    assert requests >= 500


@pytest.mark.slow
async def test_the_api_holds_its_contract_over_ten_thousand_requests(
    fuzzed_service: RunningDispatch, edge_factory, tmp_path: Path
) -> None:
    requests = await run_contract(fuzzed_service, edge_factory, tmp_path, examples=500)
    assert requests >= 10_000
