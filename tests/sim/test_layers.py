"""The sim vehicle's layers: each imports only from its own layer and the ones below it."""

from __future__ import annotations

import ast
from pathlib import Path

import sim.vehicle

PACKAGE = Path(sim.vehicle.__file__).parent
# Bottom to top; the vehicle itself (launcher, control socket, faults, config) is on top.
LAYERS = ("physics", "autopilot", "mavlink", "")


def layer_of(module: str) -> int:
    """The rank of a ``sim.vehicle`` module: 0 for physics, up to 3 for the top."""
    parts = module.split(".")
    sub = parts[2] if len(parts) > 3 else ""
    return LAYERS.index(sub) if sub in LAYERS else len(LAYERS) - 1


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def modules() -> dict[str, Path]:
    return {
        "sim.vehicle." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts): p
        for p in PACKAGE.rglob("*.py")
    }


def test_no_layer_of_the_sim_vehicle_imports_from_a_layer_above_it() -> None:
    known = modules()
    assert {layer_of(m) for m in known} == {0, 1, 2, 3}
    upward = [
        f"{name} imports {target}"
        for name, path in known.items()
        for target in imports(path)
        if target in known and layer_of(target) > layer_of(name)
    ]
    assert not upward


def test_the_vehicle_package_is_no_mavlink_client() -> None:
    clients = [
        f"{name} imports {target}"
        for name, path in modules().items()
        for target in imports(path)
        if target.split(".")[0] == "mavsdk" or target.startswith("sim.mavsdk_pilot")
    ]
    assert not clients
