"""The live terminal view of a demo: docks, incidents and the scenario, redrawn every second.

:func:`render` is a pure function of dispatch's fleet and incident lists (and the scenario's
records), so it can be tested without a terminal; :func:`show_live` polls dispatch and
redraws until cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from outrider.demo.report import RunRecord

__all__ = ["render", "show_live"]

REFRESH_S = 1.0
PHASE_STYLE = {
    "docked": "green",
    "charging": "yellow",
    "preflight": "cyan",
    "launching": "cyan",
    "en_route": "bold cyan",
    "on_scene": "bold magenta",
    "returning": "cyan",
    "landing": "cyan",
    "aborted": "bold red",
    "failsafe": "bold red",
}


def _num(value: Any, fmt: str, unit: str = "") -> str:
    return f"{value:{fmt}}{unit}" if isinstance(value, int | float) else "-"


def docks_table(docks: Sequence[dict[str, Any]], names: Mapping[str, str] | None = None) -> Table:
    """One row per dock: phase, readiness, battery, incident, position."""
    names = names or {}
    table = Table(title="Docks", expand=True, title_justify="left")
    for col in ("dock", "phase", "ready", "battery", "incident", "alt", "speed", "mode"):
        table.add_column(col, no_wrap=col in ("dock", "phase"))
    for d in sorted(docks, key=lambda x: str(x.get("id"))):
        phase = str(d.get("phase") or "-")
        if d.get("stale"):
            ready = Text(f"stale: {d.get('stale_reason') or ''}", style="red")
        elif d.get("ready"):
            ready = Text("ready", style="green")
        else:
            why = "; ".join(r.get("reason", "") for r in d.get("not_ready", []))
            ready = Text(why or "not ready", style="yellow")
        pos = d.get("position") or {}
        dock_id = str(d.get("id"))
        table.add_row(
            f"{dock_id} {names.get(dock_id, '')}".strip(),
            Text(phase, style=PHASE_STYLE.get(phase, "")),
            ready,
            _num(d.get("battery_pct"), ".0f", " %"),
            str(d.get("incident_id") or ""),
            _num(pos.get("alt_rel_m"), ".0f", " m") if d.get("in_air") else "",
            _num(d.get("ground_speed_mps"), ".1f", " m/s") if d.get("in_air") else "",
            str(d.get("flight_mode") or ""),
        )
    return table


def _age(created: Any, now: datetime) -> str:
    try:
        at = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    except ValueError:
        return ""
    return f"{max(0.0, (now - at).total_seconds()):.0f} s"


def incidents_table(incidents: Sequence[dict[str, Any]], now: datetime, limit: int = 8) -> Table:
    """The latest incidents: status, dock, ETA, age."""
    table = Table(title="Incidents", expand=True, title_justify="left")
    for col in ("incident", "type", "status", "dock", "eta", "age"):
        table.add_column(col, no_wrap=True)
    for inc in list(incidents)[:limit]:
        status = str(inc.get("status"))
        style = {"completed": "green", "unassigned": "red", "on_scene": "magenta"}.get(status, "")
        table.add_row(
            str(inc.get("id")),
            str(inc.get("type")),
            Text(status, style=style),
            str(inc.get("dock_id") or ""),
            _num(inc.get("eta_s"), ".0f", " s"),
            _age(inc.get("created_at"), now),
        )
    return table


def _progress(record: RunRecord) -> Text:
    dock = (record.detail or {}).get("dock_id")
    if dock:
        return Text(f"{(record.detail or {}).get('status')} ({dock})", style="cyan")
    if record.refusal is not None:
        code = record.refusal["code"]
        if record.done:
            return Text(f"{'unserved' if record.timed_out else 'refused'}: {code}", style="red")
        return Text(f"waiting for a dock ({code})", style="yellow")
    if record.incident_id is not None:
        return Text("dispatched", style="cyan")
    return Text(f"at {record.spec.at_s:.0f} s", style="dim")


def scenario_table(name: str, records: Sequence[RunRecord]) -> Table:
    """The scenario's incidents and where each stands."""
    table = Table(title=f"Scenario {name}", expand=True, title_justify="left")
    for col in ("incident", "expect", "progress"):
        table.add_column(col)
    for r in records:
        table.add_row(r.spec.name, r.spec.expect, _progress(r))
    return table


def render(
    docks: Sequence[dict[str, Any]],
    incidents: Sequence[dict[str, Any]],
    scenario: tuple[str, Sequence[RunRecord]] | None = None,
    now: datetime | None = None,
    names: Mapping[str, str] | None = None,
) -> Group:
    """The whole live view; ``names`` gives docks a place name."""
    parts: list[Table] = [
        docks_table(docks, names),
        incidents_table(incidents, now or datetime.now(UTC)),
    ]
    if scenario is not None:
        parts.append(scenario_table(*scenario))
    return Group(*parts)


async def show_live(
    http: httpx.AsyncClient,
    console: Console,
    scenario: Callable[[], tuple[str, Sequence[RunRecord]] | None] = lambda: None,
    names: Mapping[str, str] | None = None,
) -> None:
    """Redraw the view from dispatch's API every second until cancelled."""
    docks: list[dict[str, Any]] = []
    incidents: list[dict[str, Any]] = []
    with Live(render(docks, incidents), console=console, auto_refresh=False) as live:
        while True:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                docks = (await http.get("/api/v1/docks")).json()
                incidents = (await http.get("/api/v1/incidents", params={"limit": 8})).json()
            live.update(render(docks, incidents, scenario(), names=names), refresh=True)
            await asyncio.sleep(REFRESH_S)  # the refresh rate of the view
