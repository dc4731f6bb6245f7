"""On-scene patterns: what a drone does once it is on scene, one module per pattern.

Each module here (``orbit``, ``hold``, ...) defines ``KEY``, its wire model (the ``on_scene``
body of a command, a subclass of :class:`~edge.patterns.base.OnScenePattern` with
``pattern: Literal[KEY]``) and its behaviour: the airspeed the energy model prices, the
mission steps the planner flies, how far from the target the pilot counts as arrived, and
the defaults dispatch sends. :mod:`edge.patterns.registry` finds them at import and builds
the union the protocol carries; adding a pattern is adding a module.

This package imports nothing at import time on purpose: the registry is imported by the
wire contract, and modules here reach the flight code only inside their methods.
"""

__all__: list[str] = []
