"""Renders what a camera sees from a pose: the ground, sky, and actor billboards.

Pure NumPy (and Pillow for the actor photographs), deterministic for a given scene and pose.
The ground is flat at height 0. Where the scene names a basemap (``ground``), it shows the
city's streets, buildings, parks and water as the control room's map draws them
(:mod:`sim.camera.ground`); elsewhere a plain texture of grass and a grid of roads, fixed to
the world, so it slides under a moving camera. Actors are upright billboards facing the
camera, scaled by distance, with their feet on the ground point where they stand.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from numpy.typing import NDArray
from PIL import Image as PILImage

from basemap.errors import BasemapError
from edge.geo import LatLon, to_local_en
from edge.geoproject import CameraModel, CameraPose, ground_to_pixel, pixel_rays, rotation
from sim.camera.ground import CityGround, load_ground
from sim.camera.scene import Actor, Scene
from sim.camera.sprites import Sprite, sprite

__all__ = ["METRES_PER_TEXEL", "Renderer", "ground_texture"]

logger = logging.getLogger(__name__)

METRES_PER_TEXEL = 0.25
TEXELS = 1024
ROAD_SPACING_M = 64.0
ROAD_WIDTH_M = 8.0
SKY = np.array([170, 195, 225], dtype=np.float32)
HAZE = np.array([190, 200, 210], dtype=np.float32)


def _noise(rng: np.random.Generator, cells: int) -> NDArray[np.float32]:
    """Smooth value noise in 0..1 over the texture, ``cells`` blobs across."""
    grid = (rng.random((cells, cells)) * 255).astype(np.uint8)
    tiled = np.tile(grid, (2, 2))
    big = PILImage.fromarray(tiled).resize((TEXELS * 2, TEXELS * 2), PILImage.Resampling.BICUBIC)
    return np.asarray(big, dtype=np.float32)[:TEXELS, :TEXELS] / 255.0


def ground_texture(seed: int) -> NDArray[np.uint8]:
    """A deterministic ``TEXELS x TEXELS`` RGB tile of grass, gravel and a grid of roads."""
    rng = np.random.default_rng(seed)
    coarse, fine = _noise(rng, 16), _noise(rng, 128)
    grain = rng.random((TEXELS, TEXELS), dtype=np.float32)
    grass = np.stack([60 + 40 * coarse, 95 + 50 * coarse, 45 + 20 * fine], axis=-1)
    grass += (grain[..., None] - 0.5) * 30
    gravel = coarse[..., None] > 0.72
    grass = np.where(gravel, np.array([150, 140, 120]) + (fine[..., None] - 0.5) * 40, grass)
    metres = np.arange(TEXELS) * METRES_PER_TEXEL
    road = (
        np.abs((metres + ROAD_WIDTH_M / 2) % ROAD_SPACING_M - ROAD_WIDTH_M / 2) < ROAD_WIDTH_M / 2
    )
    asphalt = np.array([70, 70, 74]) + (grain[..., None] - 0.5) * 16
    on_road = road[None, :, None] | road[:, None, None]
    tex = np.where(on_road, asphalt, grass)
    dashes = (np.abs(metres % ROAD_SPACING_M) < 0.15) & (metres % 6.0 < 3.0)
    line = (dashes[None, :] & road[:, None]) | (dashes[:, None] & road[None, :])
    tex[line] = (220, 220, 210)
    return np.clip(tex, 0, 255).astype(np.uint8)


class Renderer:
    """Draws frames of one scene for one camera model.

    Args:
        cam: resolution and field of view.
        scene: the actors, the seed of the plain texture, and the city's basemap file.
        origin: where the plain texture is anchored (default: the first actor, else 0, 0).
        city: the city's ground; by default the scene's ``ground`` file, loaded once. A file
            that cannot be read leaves the plain ground (logged), never a failed camera.
    """

    def __init__(
        self,
        cam: CameraModel,
        scene: Scene,
        origin: LatLon | None = None,
        city: CityGround | None = None,
    ) -> None:
        self.cam = cam
        self.scene = scene
        self.origin = origin or (scene.actors[0].position if scene.actors else LatLon(0.0, 0.0))
        self._texture = ground_texture(scene.seed).reshape(-1, 3)
        self.city = city
        if city is None and scene.ground is not None:
            try:
                self.city = load_ground(scene.ground)
            except BasemapError as exc:
                logger.warning("camera ground without the city: %s", exc.reason)
        columns = np.arange(cam.width, dtype=np.float64) + 0.5
        rays = pixel_rays(cam, columns, np.zeros(cam.width, dtype=np.float64))
        self._x = rays[:, 0].astype(np.float32)
        self._y = ((np.arange(cam.height) + 0.5 - cam.height / 2) / cam.focal_px).astype(np.float32)

    def render(self, pose: CameraPose) -> NDArray[np.uint8]:
        """One RGB frame (height x width x 3) seen from ``pose``."""
        image = self._ground(pose)
        near_last = sorted(
            self.scene.actors, key=lambda a: -_distance_sq(pose.position, a.position)
        )
        for actor in near_last:
            self._draw(image, pose, actor)
        return image

    def _ground(self, pose: CameraPose) -> NDArray[np.uint8]:
        # With the gimbal level in roll, a ray's vertical part depends on the image row only,
        # so each row meets the ground at one range and east/north are affine along the row.
        r = rotation(pose).astype(np.float32)
        h, w = self.cam.height, self.cam.width
        x, y = self._x[None, :], self._y[:, None]
        up = r[2, 1] * y + r[2, 2]  # (h, 1): the rays' vertical component, row by row
        down_rows = np.flatnonzero(up[:, 0] < -1e-4)
        out = np.empty((h, w, 3), dtype=np.float32)
        if down_rows.size:
            yd = y[down_rows]
            t = np.float32(max(pose.alt_agl_m, 0.1)) / -up[down_rows]
            east = (r[0, 0] * x + r[0, 1] * yd + r[0, 2]) * t
            north = (r[1, 0] * x + r[1, 1] * yd + r[1, 2]) * t
            colour = self._colour(pose, east, north)
            fog = 1.0 - np.exp(np.sqrt(east * east + north * north) * np.float32(-1 / 1500.0))
            out[down_rows] = colour + (HAZE - colour) * fog[..., None]
        sky_rows = np.flatnonzero(up[:, 0] >= -1e-4)
        if sky_rows.size:
            norm = np.sqrt(x * x + y[sky_rows] ** 2 + 1)
            elevation = np.clip(up[sky_rows] / norm, 0, 1)[..., None]
            out[sky_rows] = SKY * (1 - 0.3 * elevation) + 40 * (1 - elevation)
        frame: NDArray[np.uint8] = np.clip(out, 0, 255).astype(np.uint8)
        return frame

    def _colour(
        self, pose: CameraPose, east: NDArray[np.float32], north: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        """The ground's colour at points ``east``/``north`` metres from the camera."""
        if self.city is not None:
            city, inside = self.city.sample(pose.lat, pose.lon, east, north)
            if inside.all():
                return city
            if inside.any():
                mixed: NDArray[np.float32] = np.where(
                    inside[..., None], city, self._plain(pose, east, north)
                )
                return mixed
        return self._plain(pose, east, north)

    def _plain(
        self, pose: CameraPose, east: NDArray[np.float32], north: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        cam_e, cam_n = to_local_en(self.origin, pose.position)
        col = np.floor((east + cam_e) * (1 / METRES_PER_TEXEL)).astype(np.int64) % TEXELS
        row = np.floor((north + cam_n) * (1 / METRES_PER_TEXEL)).astype(np.int64) % TEXELS
        plain: NDArray[np.float32] = self._texture[row * TEXELS + col].astype(np.float32)
        return plain

    def _place(self, pose: CameraPose, actor: Actor) -> tuple[Sprite, int, int] | None:
        """The actor's sprite and its top-left pixel, or ``None`` when it is not drawn."""
        foot = ground_to_pixel(self.cam, pose, actor.position)
        if foot is None:
            return None
        east, north = to_local_en(pose.position, actor.position)
        slant = math.sqrt(east**2 + north**2 + pose.alt_agl_m**2)
        height_px = round(self.cam.focal_px * actor.height / max(slant, 0.5))
        if height_px < 3 or height_px > 4 * self.cam.height:
            return None
        facing = (actor.heading_deg - pose.heading_deg) % 360.0
        pic = sprite(actor.kind, actor.variant, height_px, mirrored=facing > 180.0)
        return pic, round(foot[0]) - pic.foot[0], round(foot[1]) - pic.foot[1]

    def boxes(self, pose: CameraPose) -> list[tuple[str, tuple[int, int, int, int]]]:
        """Where each actor appears in the frame from ``pose``: ``(kind, (x1, y1, x2, y2))``
        of its visible part (the ground truth of a detector benchmark)."""
        out: list[tuple[str, tuple[int, int, int, int]]] = []
        for actor in self.scene.actors:
            placed = self._place(pose, actor)
            if placed is None:
                continue
            pic, x0, y0 = placed
            rows, cols = np.nonzero(pic.alpha > 0.5)
            if rows.size == 0:
                continue
            x1, y1 = max(x0 + int(cols.min()), 0), max(y0 + int(rows.min()), 0)
            x2 = min(x0 + int(cols.max()) + 1, self.cam.width)
            y2 = min(y0 + int(rows.max()) + 1, self.cam.height)
            if x2 > x1 and y2 > y1:
                out.append((actor.kind, (x1, y1, x2, y2)))
        return out

    def _draw(self, image: NDArray[np.uint8], pose: CameraPose, actor: Actor) -> None:
        placed = self._place(pose, actor)
        if placed is None:
            return
        pic, x0, y0 = placed
        h, w = pic.alpha.shape
        top, left = max(y0, 0), max(x0, 0)
        bottom, right = min(y0 + h, image.shape[0]), min(x0 + w, image.shape[1])
        if top >= bottom or left >= right:
            return
        src = (slice(top - y0, bottom - y0), slice(left - x0, right - x0))
        alpha = pic.alpha[src][..., None]
        region = image[top:bottom, left:right].astype(np.float32)
        blended = region + (pic.rgb[src].astype(np.float32) - region) * alpha
        image[top:bottom, left:right] = blended.astype(np.uint8)


def _distance_sq(a: LatLon, b: LatLon) -> float:
    east, north = to_local_en(a, b)
    return east * east + north * north
