"""The sim vehicle's physical plant: a kinematic multicopter body and its battery.

The lowest layer: it knows nothing of MAVLink or of PX4's logic. The autopilot above it
(:mod:`sim.vehicle.autopilot`) hands the body a :class:`~sim.vehicle.physics.body.Setpoint`
each step and drains the battery with the power the flight takes.
"""
