"""The AsyncAPI document of the MQTT contract, generated from the models, validated by the
AsyncAPI project's own parser (``@asyncapi/parser`` from the npm registry, in tests/node)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edge.protocol import QOS, RETAINED, Kind
from edge.protocol.asyncapi import asyncapi

NODE_TOOLS = Path(__file__).resolve().parents[1] / "node"


def validate(path: Path) -> dict[str, object]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    if not (NODE_TOOLS / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.fail("the AsyncAPI parser is not installed: run `make node-tools` (npm ci)")
    done = subprocess.run(
        [node, str(NODE_TOOLS / "validate_asyncapi.mjs"), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout, done.stderr
    return dict(json.loads(done.stdout))


def test_the_generated_document_validates_and_names_every_topic(tmp_path: Path) -> None:
    out = tmp_path / "asyncapi.json"
    command = [sys.executable, "-m", "outrider", "protocol", "asyncapi", "--out", str(out)]
    subprocess.run(command, check=True, timeout=120)
    summary = validate(out)
    assert summary["valid"] is True, summary["diagnostics"]
    assert summary["diagnostics"] == []
    assert summary["channels"] == [f"dfr/v1/{{dock_id}}/{k.value}" for k in Kind]
    assert ["receiveCmd", "receive"] in summary["operations"]  # type: ignore[operator]
    doc = asyncapi()
    for kind in Kind:
        [op] = [o for o in doc["operations"].values() if o["channel"]["$ref"].endswith(kind.value)]
        assert op["bindings"]["mqtt"]["qos"] == QOS[kind]
        assert op["bindings"]["mqtt"]["retain"] == (kind in RETAINED)
    dispatch = doc["components"]["schemas"]["DispatchBody"]
    assert {"incident_id", "target"} <= set(dispatch["properties"])


def test_a_broken_document_is_refused_by_the_parser(tmp_path: Path) -> None:
    """The check can fail: a channel pointing at a message that does not exist is an error."""
    doc = asyncapi()
    doc["channels"]["state"]["messages"]["state"]["$ref"] = "#/components/messages/nothing"
    out = tmp_path / "broken.json"
    out.write_text(json.dumps(doc))
    summary = validate(out)
    assert summary["valid"] is False and summary["diagnostics"]
