"""The sim vehicle's MAVLink side: what a ground station sees of it, as PX4 SITL speaks it.

The UDP link and fast framing, the messages built from the autopilot's state and their
streams at PX4's rates, and the micro-protocols that turn what the ground station sends into
calls on the autopilot: commands (COMMAND_LONG / COMMAND_INT), missions and parameters.
Numbers are the shared table's, :mod:`edge.flight.mavlink_enums`.
"""
