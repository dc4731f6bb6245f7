"""``outrider demo``: the whole system in simulation, and the scenario runner and its report.

Modules: :mod:`~outrider.demo.config` (the demo city), :mod:`~outrider.demo.scenario`
(scenarios as data), :mod:`~outrider.demo.stack` (every part started and stopped),
:mod:`~outrider.demo.scenario_runner` (incidents through the dispatch API),
:mod:`~outrider.demo.report` (the report from dispatch's timelines), :mod:`~outrider.demo.live`
(the live table), :mod:`~outrider.demo.app` (the command). Nothing heavy is imported here,
so the guard (:mod:`~outrider.demo.guard`) starts fast.
"""

__all__: list[str] = []
