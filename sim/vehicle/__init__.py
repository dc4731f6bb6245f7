"""A PX4-compatible MAVLink vehicle for tests and demos: to MAVSDK it looks like PX4 SITL.

Start one from a test (it runs in a child process and stops with the ``async with``)::

    from sim.vehicle import launch

    async with launch(home=(47.3977, 8.5456, 489.4), speed_factor=10) as vehicle:
        await mavsdk.add_any_connection(vehicle.url)      # udpin://127.0.0.1:PORT
        ...
        await vehicle.inject("link_loss:5")                # or "gps_loss", "refuse_arm",
        await vehicle.inject("battery_sag", to_pct=10)     # "battery_sag:drain=4"
        truth = await vehicle.truth()                      # ground truth: lat, lon,
        assert truth["mode"] == "RETURN_TO_LAUNCH"         # alt_rel_m, armed, battery_pct...
        await vehicle.clear()                              # end every fault
        await vehicle.kill()                               # vanish like a crashed autopilot

``launch`` takes ``port`` (a free UDP port when omitted), ``instance`` (system id is
instance + 1: give vehicles that share one MAVSDK instance different instances),
``params`` (PX4 parameter overrides), ``faults`` (active from start), ``wind``,
``battery_pct``, ``frame_rule`` and ``mission_start_delay_s``.

From the shell the same vehicle is ``outrider sim vehicle --instance N --home LAT,LON,ALT``
(PX4 SITL's ports: binds 14580+N, sends to 14540+N) and ``outrider sim fault --instance N
link_loss:5`` injects a fault into it.

What it models, and how it mirrors PX4:

- Messages and rates of PX4's API link (HEARTBEAT as PX4 with custom modes, SYS_STATUS health
  and pre-arm bits, attitude, positions, GPS, home, battery, landed state, mission progress);
  SET_MESSAGE_INTERVAL and REQUEST_MESSAGE; the parameter protocol with PX4's defaults.
- Every command PX4 answers is acknowledged as PX4 main does, COMMAND_INT in any frame with
  its altitude above sea level (``frame_rule`` picks an older PX4's answers); mission mode
  right after a first upload is refused, as PX4 does for a few tens of milliseconds.
- A kinematic multicopter with PX4's speeds and accelerations, wind, a battery that drains with
  ``edge.energy.Airframe.power_w``, PX4's RTL, land detection and auto-disarm, and PX4's
  failsafes for low battery (COM_LOW_BAT_ACT), data-link loss (NAV_DLL_ACT after
  COM_DL_LOSS_T) and position loss, with PX4's hold of COM_FAIL_ACT_T before acting.
- Flight physics runs at ``speed_factor`` times wall-clock time; messages, command and mission
  timing stay wall-clock so MAVSDK never times out.

In layers, each importing only from the ones below it (``tests/sim/test_layers.py``):

- :mod:`sim.vehicle.physics`: the plant, a kinematic body and its battery.
- :mod:`sim.vehicle.autopilot`: PX4's logic: state, modes, navigator, missions, RTL and orbit,
  failsafes, parameters.
- :mod:`sim.vehicle.mavlink`: what a ground station sees: UDP link, framing, messages and their
  streams, and the command, mission and parameter protocols.
- On top, the vehicle itself: ``sim_vehicle`` (the parts wired together and the main loop),
  ``config``, ``faults``, ``control`` (the control socket), ``serve`` (vehicles in this
  process) and ``launch`` (a vehicle in a child process).
"""

from sim.vehicle.autopilot.modes import FlightMode
from sim.vehicle.config import Home, VehicleConfig
from sim.vehicle.control import ControlError
from sim.vehicle.faults import Fault, FaultKind, parse_fault
from sim.vehicle.launch import SimVehicleProcess, launch

__all__ = [
    "ControlError",
    "Fault",
    "FaultKind",
    "FlightMode",
    "Home",
    "SimVehicleProcess",
    "VehicleConfig",
    "launch",
    "parse_fault",
]
