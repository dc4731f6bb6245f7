"""The import rules, read from the source: which package may import which, and who imports what.

- ``edge`` (the dock's agent and the wire contract) imports none of the other packages;
  ``dispatch`` imports only ``edge``; ``sim`` imports only ``edge``; ``outrider`` (the
  command line and its wiring, the demo and the benchmarks) may import all of them.
- No import cycle between packages.
- Benchmark code lives in ``outrider.bench`` and nothing outside it imports it (the command
  line finds the runner by name).
- STYLE.md rule 3: only the adapters import the outside libraries below; the lists are the
  modules that do today, so a new importer fails here until it is added on purpose.

Imports inside functions count, as do those under ``if TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("edge", "basemap", "dispatch", "sim", "outrider")
MAY_IMPORT: dict[str, set[str]] = {
    "edge": set(),
    "basemap": {"edge"},
    "dispatch": {"edge", "basemap"},
    "sim": {"edge", "basemap"},
    "outrider": {"edge", "basemap", "dispatch", "sim"},
}
BENCH = "outrider.bench"

ADAPTERS: dict[str, set[str]] = {
    "aiomqtt": {
        "edge.comms.mqtt",
        "edge.comms.link",
        "dispatch.bus",
        "outrider.bench.edge_latency",
        "outrider.bench.fleet_telemetry",
    },
    "mavsdk": {
        "edge.flight.mavsdk_vehicle",
        "sim.mavsdk_pilot",  # the sim's own MAVSDK client, for its tests and benchmarks
    },
    "cv2": {
        "edge.detect.yolo",
        "edge.video.annotate",
        "edge.video.camera",
        "edge.video.capture",
        "edge.video.cli",
        "edge.video.h264",
        "edge.video.redact",
        "edge.video.stages",
        "outrider.bench.video_codec",
        "outrider.bench.video_fanout",
        "outrider.bench.video_throughput",
    },
    "av": {
        "edge.video.h264",
        "edge.video.mp4",
        "dispatch.video_snapshot",
        "dispatch.evidence.release",
    },
    # the `ultralytics` extra: each importer degrades to a coded error when it is missing
    "ultralytics": {
        "edge.detect.export",
        "edge.detect.plugins.ultralytics",
        "edge.detect.reference",
    },
    "torch": {"edge.detect.plugins.ultralytics", "edge.detect.reference"},
    "onnx2torch": {"edge.detect.reference"},
    "openvino": {"edge.detect.plugins.openvino"},
}


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _imports(name: str, path: Path) -> set[str]:
    """Every module name ``name`` imports (``from a import b`` counts as ``a`` and ``a.b``)."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


GRAPH: dict[str, set[str]] = {name: _imports(name, path) for name, path in _modules()}


def _top(name: str) -> str:
    return name.split(".")[0]


def test_every_package_imports_only_the_packages_below_it() -> None:
    wrong = sorted(
        f"{module} imports {imported}"
        for module, imports in GRAPH.items()
        for imported in imports
        if _top(imported) in PACKAGES
        and _top(imported) != _top(module)
        and _top(imported) not in MAY_IMPORT[_top(module)]
    )
    assert wrong == []


def test_the_packages_import_each_other_without_a_cycle() -> None:
    edges = {
        (_top(module), _top(imported))
        for module, imports in GRAPH.items()
        for imported in imports
        if _top(imported) in PACKAGES and _top(imported) != _top(module)
    }
    assert edges, "the graph was read"
    done: set[str] = set()

    def visit(package: str, path: tuple[str, ...]) -> None:
        assert package not in path, f"import cycle: {' -> '.join((*path, package))}"
        if package not in done:
            for _, below in sorted(e for e in edges if e[0] == package):
                visit(below, (*path, package))
            done.add(package)

    for package in PACKAGES:
        visit(package, ())


def test_benchmark_code_lives_in_one_package_that_nothing_else_imports() -> None:
    stray = [m for m in GRAPH if "bench" in m.rsplit(".", 1)[-1] and not m.startswith(BENCH)]
    assert stray == [], "benchmarks belong in outrider/bench/"
    importers = sorted(
        f"{module} imports {imported}"
        for module, imports in GRAPH.items()
        if not module.startswith(BENCH)
        for imported in imports
        if imported == BENCH or imported.startswith(f"{BENCH}.")
    )
    assert importers == []


@pytest.mark.parametrize("library", sorted(ADAPTERS))
def test_only_the_adapters_import_an_outside_library(library: str) -> None:
    importers = {
        module
        for module, imports in GRAPH.items()
        if any(_top(imported) == library for imported in imports)
    }
    assert importers == ADAPTERS[library]


def test_the_reader_sees_relative_and_nested_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "edge" / "x"
    pkg.mkdir(parents=True)
    module = pkg / "y.py"
    module.write_text("def f():\n    from . import z\n    import sim.dock\n")
    assert _imports("edge.x.y", module) == {"edge.x", "edge.x.z", "sim.dock"}
