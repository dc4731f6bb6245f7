"""On-scene patterns found at import, and the union of their wire models the protocol carries.

Every module of :mod:`edge.patterns` (but this one, ``base`` and ``geometry``) defines ``KEY`` and a
subclass of :class:`~edge.patterns.base.OnScenePattern` with ``pattern: Literal[KEY]``.
:data:`OnScene` is the union of those models told apart by ``pattern``; a body without
``pattern`` is the default pattern's (the orbit), as it always was on the wire.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import BeforeValidator, Discriminator, Tag

import edge.patterns
from edge.patterns.base import OnScenePattern

__all__ = [
    "DEFAULT_KEY",
    "PATTERNS",
    "OnScene",
    "OnSceneSetting",
    "Pattern",
    "default_on_scene",
    "dispatch_on_scene",
]

NOT_PATTERNS = frozenset({"base", "geometry", "registry"})


@dataclass(frozen=True, slots=True)
class Pattern:
    """One on-scene pattern: its key and its wire model (which carries its behaviour)."""

    key: str
    model: type[OnScenePattern]


def _discover() -> dict[str, Pattern]:
    found: dict[str, Pattern] = {}
    for info in sorted(pkgutil.iter_modules(edge.patterns.__path__), key=lambda i: i.name):
        if info.name in NOT_PATTERNS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{edge.patterns.__name__}.{info.name}")
        key = module.KEY
        model = next(
            c
            for c in vars(module).values()
            if isinstance(c, type)
            and issubclass(c, OnScenePattern)
            and c.model_fields["pattern"].default == key
        )
        found[key] = Pattern(key, model)
    return found


PATTERNS: dict[str, Pattern] = _discover()
"""Patterns by key, e.g. ``orbit``, ``hold``."""

DEFAULT_KEY: str = next(key for key, p in PATTERNS.items() if p.model.default)
"""The pattern of an ``on_scene`` body that names none."""


def _pattern_of(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value.get("pattern", DEFAULT_KEY))
    return getattr(value, "pattern", None)


def _refuse_unknown_keys(value: Any) -> Any:
    """For configuration files: a key the chosen pattern does not have is a typo, not ignored."""
    if isinstance(value, dict):
        pattern = PATTERNS.get(str(value.get("pattern", DEFAULT_KEY)))
        if pattern is not None:
            unknown = sorted(set(value) - set(pattern.model.model_fields))
            if unknown:
                raise ValueError(f"{pattern.key} has no {', '.join(unknown)}")
    return value


if TYPE_CHECKING:
    OnScene = OnScenePattern
    OnSceneSetting = OnScenePattern
else:
    _union = Union[tuple(Annotated[p.model, Tag(p.key)] for p in PATTERNS.values())]  # noqa: UP007
    OnScene = Annotated[
        _union,
        Discriminator(
            _pattern_of,
            custom_error_type="invalid_pattern",
            custom_error_message=f"pattern must be one of {sorted(PATTERNS)}",
        ),
    ]
    OnSceneSetting = Annotated[OnScene, BeforeValidator(_refuse_unknown_keys)]
"""``OnScene``: what to do on scene, validated by ``pattern``. ``OnSceneSetting``: the same in
a configuration file, where unknown keys are refused."""


def default_on_scene() -> OnScenePattern:
    """The default pattern with its own defaults (what the edge flies when told nothing)."""
    return PATTERNS[DEFAULT_KEY].model.model_validate({})


def dispatch_on_scene() -> OnScenePattern:
    """The default pattern as dispatch sends it unless configured otherwise."""
    return PATTERNS[DEFAULT_KEY].model.dispatch_default()
