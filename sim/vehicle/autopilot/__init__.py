"""The sim vehicle's autopilot: PX4's flight logic, with PX4's parameters and status texts.

What PX4's commander and navigator would do, without any MAVLink framing: the shared
:class:`~sim.vehicle.autopilot.vehicle_state.VehicleState`, flight modes and mode changes,
the navigator (take-off, hold, land, land detection, auto-disarm), mission storage and
execution, return to launch and orbit, failsafes and parameters. It flies the body of
:mod:`sim.vehicle.physics` and reports through the small
:class:`~sim.vehicle.autopilot.vehicle_state.Notifier` interface; the MAVLink side
(:mod:`sim.vehicle.mavlink`) sits above it and never the other way round.
"""
