"""The synthetic camera: a rendered view of actors placed at known coordinates.

Usage::

    from sim.camera import SyntheticCamera, load_scene

    camera = SyntheticCamera(load_scene(path), CameraModel(640, 480, 60.0), pose_fn)

``pose_fn`` returns the vehicle's :class:`edge.geoproject.CameraPose`; scenes are TOML or JSON
(see :mod:`sim.camera.scene`). Actors are cut from the sample photographs in the installed
``ultralytics`` package, so the real detector finds them.
"""

from sim.camera.camera import SyntheticCamera
from sim.camera.orbit import orbit_pose
from sim.camera.render import Renderer
from sim.camera.scene import Actor, Scene, load_scene, parse_scene, ring_of_actors

__all__ = [
    "Actor",
    "Renderer",
    "Scene",
    "SyntheticCamera",
    "load_scene",
    "orbit_pose",
    "parse_scene",
    "ring_of_actors",
]
