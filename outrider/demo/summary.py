"""A scenario report for people: one table of incidents and a line of totals (rich)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from outrider.demo.report import IncidentReport, ScenarioReport

__all__ = ["summary"]


def _s(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _actors(r: IncidentReport) -> str:
    if not r.actors or r.outcome != "served":
        return "-"
    err = f", ±{r.location_error_m:.1f} m" if r.location_error_m is not None else ""
    return f"{r.actors_detected}/{len(r.actors)}{err}"


def incident_rows(report: ScenarioReport) -> Table:
    """One row per incident: outcome, dock, phase times, actors found."""
    table = Table(title=f"Scenario {report.scenario}", title_justify="left")
    columns = (
        "incident", "outcome", "dock", "queued", "ack", "airborne", "on scene", "stayed",
        "docked", "actors",
    )  # fmt: skip
    for col in columns:
        table.add_column(col, justify="left" if col in ("incident", "outcome", "dock") else "right")
    for r in report.incidents:
        outcome = r.outcome if r.refusal is None else f"{r.outcome}: {r.refusal.code}"
        t = r.times
        table.add_row(
            r.name,
            Text(outcome, style="green" if r.ok else "bold red"),
            r.dock_id or "",
            _s(t.queued_s),
            _s(t.ack_s, 2),
            _s(t.to_airborne_s),
            _s(t.to_on_scene_s),
            _s(t.on_scene_for_s),
            _s(t.to_docked_s),
            _actors(r),
        )
    return table


def summary(report: ScenarioReport) -> Group:
    """The report as a table and a totals line; times in simulated seconds, ack in wall."""
    t = report.totals
    verdict = Text(
        "as expected" if report.ok else "NOT as expected",
        style="green" if report.ok else "bold red",
    )
    line = Text.assemble(
        f"{t.incidents} incidents: {t.served} served, {t.refused} refused, {t.failed} failed, "
        f"{t.unserved} unserved — ",
        verdict,
        f"\non scene {_s(t.to_on_scene_s_mean)} s after dispatch on average "
        f"(max {_s(t.to_on_scene_s_max)} s), ack {_s(t.ack_s_mean, 2)} s; "
        f"actors detected {t.actors_detected}/{t.actors_placed}, location error "
        f"{_s(t.location_error_m_mean, 1)} m mean, {_s(t.location_error_m_max, 1)} m max\n"
        f"{report.vehicle} vehicles, speed factor {report.speed_factor:g}, "
        f"{report.wall_s:.0f} s wall; times in simulated seconds, ack in wall seconds",
    )
    return Group(incident_rows(report), line)
