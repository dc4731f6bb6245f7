"""The README's fault-tolerance figure, made from a test run: the fault matrix and fuzz counts.

Run ``python -m tests.faults.figure`` (add ``--quick`` to skip the slow cases, ``--readme
README.md`` to rewrite the figure between its markers there). It runs pytest on the fault
suite and on every fuzz test of an outside input, with :class:`Collector` as a plugin that keeps
each fault case's outcome and ending, each hypothesis test's generated-input count and each
schemathesis run's request count; then it writes ``artifacts/fault-matrix.json`` and the
Markdown figure. Nothing in the figure is typed by hand.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.faults.scenarios import FAULTS, NORMAL, PHASES

ROOT = Path(__file__).resolve().parents[2]
BEGIN, END = "<!-- fault-matrix:begin -->", "<!-- fault-matrix:end -->"
FAULT_TEST = "test_a_sortie_hit_by_a_fault_ends_safe_with_every_event_once_and_no_command_twice"
FUZZ: dict[str, tuple[str, str]] = {  # test function -> (input, what is generated)
    "test_arbitrary_bytes_only_ever_raise_a_protocol_error": (
        "MQTT payloads (wire contract parsers)", "arbitrary bytes"),
    "test_arbitrary_json_objects_only_ever_raise_a_protocol_error": (
        "MQTT payloads (wire contract parsers)", "arbitrary JSON objects"),
    "test_arbitrary_dispatch_bodies_only_ever_raise_a_protocol_error": (
        "MQTT payloads (wire contract parsers)", "dispatch command bodies"),
    "test_no_payload_escapes_without_a_coded_ack": (
        "edge `cmd` topic", "command checks in process: bytes and near-commands"),
    "test_any_bytes_on_a_running_edges_command_topic_get_exactly_one_coded_refusal": (
        "edge `cmd` topic", "running edge over MQTT: garbage, oversized, unsigned"),
    "test_any_signed_command_reaches_its_handler_and_gets_a_coded_answer": (
        "edge `cmd` topic", "running edge over MQTT: signed generated commands"),
    "test_arbitrary_topics_and_payloads_are_refused_without_raising": (
        "dispatch MQTT ingest", "any topic, any payload"),
    "test_every_near_valid_message_is_either_taken_or_refused_with_a_code_once": (
        "dispatch MQTT ingest", "valid messages with a field broken or dropped"),
    "test_arbitrary_bytes_never_break_the_frame_parser": (
        "video uplink", "frame parser: arbitrary bytes"),
    "test_arbitrary_uplink_bytes_are_refused_with_a_code_never_a_crash": (
        "video uplink", "relay in process: arbitrary bytes"),
    "test_any_uplink_message_is_refused_with_a_code_and_the_next_good_frame_still_flows": (
        "video uplink", "live ingest WebSocket: bytes, headers, bodies"),
    "test_random_datagrams_are_counted_as_garbage_and_ignored": (
        "sim vehicle MAVLink", "random datagrams"),
    "test_valid_frames_with_random_payloads_never_break_the_vehicle": (
        "sim vehicle MAVLink", "valid frames, random payloads"),
    "test_commands_with_wild_parameters_are_all_acked_and_flown_safely": (
        "sim vehicle MAVLink", "commands with wild parameters"),
    "test_hostile_mission_and_parameter_traffic_never_breaks_the_vehicle": (
        "sim vehicle MAVLink", "hostile mission and parameter traffic"),
    "test_any_bytes_give_a_scene_or_a_coded_refusal": ("scene files", "arbitrary bytes"),
    "test_any_json_document_gives_a_scene_or_a_coded_refusal": ("scene files", "JSON documents"),
    "test_the_api_holds_its_contract_under_generated_requests": (
        "dispatch HTTP API", "schemathesis, CI run (requests)"),
    "test_the_api_holds_its_contract_over_ten_thousand_requests": (
        "dispatch HTTP API", "schemathesis, long run (requests)"),
}  # fmt: skip
FUZZ_FILES = [
    "tests/test_protocol.py",
    "tests/test_protocol_video_signing.py",
    "tests/edge/test_dispatcher.py",
    "tests/security/test_fuzz_inputs.py",
    "tests/dispatch/test_ingest.py",
    "tests/dispatch/test_video.py",
    "tests/dispatch/test_api_fuzz.py",
    "tests/sim/test_fuzz.py",
    "tests/video/test_synthetic_camera.py",
]
_PASSING = re.compile(r"(\d+) passing, (\d+) failing")


@dataclass
class FaultResult:
    fault: str
    phase: str
    outcome: str
    seconds: float
    ending: str | None = None
    failsafe: str | None = None


@dataclass
class FuzzResult:
    test: str
    input: str
    what: str
    outcome: str
    generated: int
    failing: int


@dataclass(eq=False)  # a plugin must be hashable
class Collector:
    """The pytest plugin: keeps only fault cases and fuzz tests, and records their results."""

    quick: bool
    faults: list[FaultResult] = field(default_factory=list)
    fuzz: list[FuzzResult] = field(default_factory=list)

    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        keep, drop = [], []
        for item in items:
            name = getattr(item, "originalname", item.name)
            wanted = name == FAULT_TEST or name in FUZZ
            if self.quick and item.get_closest_marker("slow"):
                wanted = False
            (keep if wanted else drop).append(item)
        config.hook.pytest_deselected(items=drop)
        items[:] = keep

    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        report = outcome.get_result()
        if report.when != "call" and not (report.when == "setup" and report.failed):
            return
        name = getattr(item, "originalname", item.name)
        result = "passed" if report.passed else "failed"
        if name == FAULT_TEST:
            case = item.callspec.params["case"]  # type: ignore[attr-defined]
            props = dict(item.user_properties)
            self.faults.append(
                FaultResult(
                    case.fault,
                    case.phase,
                    result,
                    round(report.duration, 1),
                    props.get("ending"),
                    props.get("failsafe"),
                )
            )
        elif name in FUZZ:
            generated, failing = _examples(item)
            self.fuzz.append(FuzzResult(item.nodeid, *FUZZ[name], result, generated, failing))


def _examples(item: pytest.Item) -> tuple[int, int]:
    """Inputs generated by a hypothesis test, or requests sent by a schemathesis run."""
    stats = getattr(item, "hypothesis_statistics", "")
    if stats:
        found = [(int(p), int(f)) for p, f in _PASSING.findall(stats)]
        return sum(p + f for p, f in found), sum(f for _, f in found)
    tmp = getattr(item, "funcargs", {}).get("tmp_path")
    report = Path(tmp) / "events.ndjson" if tmp else None
    if report is None or not report.exists():
        return 0, 0
    requests = 0
    for line in report.read_text().splitlines():
        event = json.loads(line)
        if "ScenarioFinished" in event:
            recorder = event["ScenarioFinished"].get("recorder") or {}
            requests += len(recorder.get("interactions") or {})
    return requests, 0


def render(faults: list[FaultResult], fuzz: list[FuzzResult], when: str) -> str:
    """The Markdown figure."""
    cells = {(r.fault, r.phase): r for r in faults}
    lines = [
        BEGIN,
        f"Fault matrix, from the run of {when} (`python -m tests.faults.figure`): each cell is "
        "one scenario test; *pass* means the vehicle ended where it must (docked, or landed "
        "away with the reason recorded), dispatch's timeline held every event once and in "
        "order, and no command was carried out twice. Cells marked † run in `make test`; the "
        "rest in `make test-slow`.",
        "",
        "| fault | " + " | ".join(p.replace("_", " ") for p in PHASES) + " |",
        "|---|" + "---|" * len(PHASES),
    ]
    for name, spec in FAULTS.items():
        row = [f"{name.replace('_', ' ')}: {spec.label}"]
        for phase in PHASES:
            r = cells.get((name, phase))
            normal = "†" if any(c.fault == name and c.phase == phase for c in NORMAL) else ""
            if r is None:
                row.append(f"not run{normal}")
                continue
            end = "docked" if r.ending == "dock" else f"landed away ({r.failsafe})"
            verdict = "pass" if r.outcome == "passed" else "**FAIL**"
            row.append(f"{verdict}{normal}: {end}, {r.seconds:.0f} s")
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "Fuzzing, the same run: inputs generated per test (hypothesis draws new ones each run; "
        "schemathesis counts HTTP requests); a failure would be a crash, an uncoded refusal "
        "or a 5xx.",
        "",
        "| input | generated | count | failures |",
        "|---|---|---|---|",
    ]
    for r in sorted(fuzz, key=lambda r: (r.input, r.what)):
        verdict = str(r.failing) if r.outcome == "passed" else f"**{max(r.failing, 1)}**"
        lines.append(f"| {r.input} | {r.what} | {r.generated:,} | {verdict} |")
    total = sum(r.generated for r in fuzz)
    lines += [f"| **all** | | **{total:,}** | {sum(r.failing for r in fuzz)} |", END]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the slow cases")
    parser.add_argument("--readme", type=Path, help="rewrite the figure in this README")
    parser.add_argument("--json", type=Path, default=ROOT / "artifacts" / "fault-matrix.json")
    args = parser.parse_args(argv)
    collector = Collector(args.quick)
    marks = "not slow" if args.quick else "slow or not slow"
    paths = [str(ROOT / "tests" / "faults" / "test_faults.py")] + [
        str(ROOT / f) for f in FUZZ_FILES
    ]
    code = pytest.main([*paths, "-m", marks, "-q", "-p", "no:cacheprovider"], plugins=[collector])
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "date": when,
        "faults": [asdict(r) for r in collector.faults],
        "fuzz": [asdict(r) for r in collector.fuzz],
    }
    args.json.write_text(json.dumps(data, indent=1) + "\n")
    figure = render(collector.faults, collector.fuzz, when)
    if args.readme is not None:
        text = args.readme.read_text()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            text = head + figure + rest.split(END, 1)[1]
            args.readme.write_text(text)
    sys.stdout.write(figure + "\n")
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
