"""Actor pictures cut from the sample photographs that ship inside the ``ultralytics`` package.

The photographs are found through the installed package at run time (never copied, never
downloaded). Each sprite is an RGB crop of one real person or vehicle with an alpha edge, and
the pixel where it touches the ground.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image as PILImage

from edge.errors import ConfigError

__all__ = ["CATALOG", "Sprite", "SpriteSpec", "assets_dir", "sprite"]


@dataclass(frozen=True, slots=True)
class SpriteSpec:
    """Where in which photograph an actor is: ``box`` is x1, y1, x2, y2 in its pixels."""

    photo: str
    box: tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Sprite:
    """An actor scaled for one frame: colours, opacity, and the ground-contact pixel."""

    rgb: NDArray[np.uint8]
    alpha: NDArray[np.float32]
    foot: tuple[int, int]


CATALOG: dict[str, list[SpriteSpec]] = {
    # Full-length people in bus.jpg (the third, cut by the photo's edge, is left out).
    "person": [
        SpriteSpec("bus.jpg", (40, 395, 221, 898)),
        SpriteSpec("bus.jpg", (216, 397, 361, 849)),
    ],
    # The bus, with the people standing before it: they are part of the photograph.
    "bus": [SpriteSpec("bus.jpg", (23, 227, 810, 781))],
}


def assets_dir() -> Path:
    """The ``assets`` folder of the installed ``ultralytics`` package (not imported).

    Raises:
        ConfigError: ``assets_missing`` when ultralytics is not installed.
    """
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the synthetic camera cuts its actors from ultralytics' sample photographs; "
            "install them with pip install 'outrider[ultralytics]'",
            code="assets_missing",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "assets"


@functools.cache
def _crop(kind: str, variant: int) -> PILImage.Image:
    specs = CATALOG[kind]
    spec = specs[variant % len(specs)]
    with PILImage.open(assets_dir() / spec.photo) as photo:
        return photo.convert("RGB").crop(spec.box)


@functools.lru_cache(maxsize=512)
def sprite(kind: str, variant: int, height_px: int, mirrored: bool = False) -> Sprite:
    """An actor's picture ``height_px`` tall, feet at the bottom centre."""
    crop = _crop(kind, variant)
    width_px = max(1, round(crop.width * height_px / crop.height))
    image = crop.resize((width_px, height_px), PILImage.Resampling.BILINEAR, reducing_gap=2.0)
    if mirrored:
        image = image.transpose(PILImage.Transpose.FLIP_LEFT_RIGHT)
    rgb = np.asarray(image, dtype=np.uint8)
    alpha = np.ones((height_px, width_px), dtype=np.float32)
    edge = max(1, min(height_px, width_px) // 16)
    ramp = np.linspace(0.2, 1.0, edge, dtype=np.float32)
    alpha[:, :edge] *= ramp[None, :]
    alpha[:, width_px - edge :] *= ramp[None, ::-1]
    alpha[:edge, :] *= ramp[:, None]
    return Sprite(rgb, alpha, (width_px // 2, height_px - 1))
