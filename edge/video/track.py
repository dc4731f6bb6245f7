"""Stable track ids across frames, ByteTrack-style: confident boxes first, then the faint ones.

Each track predicts its box with a constant-velocity model. Confident detections are matched to
tracks by IoU (same family of classes, greedy, best overlap first); detections below the
confident score but above the low one may only continue an existing track, which keeps ids
through brief dips in confidence and occlusions. A confident detection whose box moved too far
for any overlap (a drone circling at a low frame rate) continues the track of its family whose
place on the ground is within ``match_m``. Unmatched confident detections start new tracks; a
track unseen for ``max_misses`` frames is dropped. A track is *confirmed* once seen in
``confirm_frames`` frames: only then does it get its id in the output, its class is the one
the model gave it most surely, and its ground position is smoothed over its sightings.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from edge.detect import Detection
from edge.geo import LatLon, distance_m
from edge.video.interest import family

__all__ = ["Track", "Tracked", "Tracker"]


@dataclass(slots=True)
class Track:
    """One object followed across frames."""

    id: int
    family: str
    box: NDArray[np.float64]
    velocity: NDArray[np.float64]
    hits: int = 1
    misses: int = 0
    votes: dict[str, float] = field(default_factory=dict)
    geo: LatLon | None = None

    @property
    def cls(self) -> str:
        """The class the model gave this object most surely over its sightings."""
        return max(self.votes.items(), key=lambda kv: kv[1])[0]

    def see(self, det: Detection, spot: LatLon | None, smoothing: float) -> None:
        """Count one sighting: its class's vote and its place, smoothed."""
        self.votes[det.cls] = self.votes.get(det.cls, 0.0) + det.conf
        if spot is None:
            return
        if self.geo is None:
            self.geo = spot
        else:
            a = smoothing
            self.geo = LatLon(
                self.geo.lat + a * (spot.lat - self.geo.lat),
                self.geo.lon + a * (spot.lon - self.geo.lon),
            )


@dataclass(frozen=True, slots=True)
class Tracked:
    """A detection with its confirmed track: id (None for a faint box no track took, or a
    track not yet confirmed), the track's class and smoothed ground position."""

    det: Detection
    track_id: int | None
    cls: str | None = None
    geo: LatLon | None = None


def iou_matrix(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Pairwise IoU of two ``n x 4`` and ``m x 4`` box arrays."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = (x2 - x1).clip(0) * (y2 - y1).clip(0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union: NDArray[np.float64] = area_a[:, None] + area_b[None, :] - inter
    result: NDArray[np.float64] = inter / np.maximum(union, 1e-9)
    return result


def _greedy(overlap: NDArray[np.float64], floor: float) -> list[tuple[int, int]]:
    pairs: list[tuple[int, int]] = []
    if overlap.size == 0:
        return pairs
    used_r: set[int] = set()
    used_c: set[int] = set()
    for flat in np.argsort(-overlap, axis=None):
        r, c = divmod(int(flat), overlap.shape[1])
        if overlap[r, c] < floor:
            break
        if r not in used_r and c not in used_c:
            pairs.append((r, c))
            used_r.add(r)
            used_c.add(c)
    return pairs


class Tracker:
    """Assigns track ids to each frame's detections.

    Args:
        high: score from which a detection may start a track.
        low: score from which a detection may continue one.
        match_iou: least IoU between a predicted track box and a detection.
        max_misses: frames a track survives unseen.
        confirm_frames: sightings before a track is reported.
        match_m: ground distance within which a confident detection continues a track its
            box no longer overlaps (0: never).
        smoothing: weight of a new sighting in the track's ground position (1: no smoothing).
        start: the score from which a class starts a track (``high`` for every class if
            not given).
    """

    def __init__(
        self,
        high: float = 0.4,
        low: float = 0.1,
        match_iou: float = 0.2,
        max_misses: int = 30,
        *,
        confirm_frames: int = 1,
        match_m: float = 0.0,
        smoothing: float = 1.0,
        start: Callable[[str], float] | None = None,
    ) -> None:
        self.high, self.low, self.match_iou, self.max_misses = high, low, match_iou, max_misses
        self.confirm_frames, self.match_m, self.smoothing = confirm_frames, match_m, smoothing
        self.start = start or (lambda _cls: high)
        self.tracks: list[Track] = []
        self._ids = itertools.count(1)

    def update(
        self, detections: list[Detection], ground: Sequence[LatLon | None] | None = None
    ) -> list[Tracked]:
        """Match one frame's detections (placed on the ground where ``ground`` says) to tracks;
        returns them in the order given."""
        spots: list[LatLon | None] = (
            list(ground) if ground is not None else [None] * len(detections)
        )
        for t in self.tracks:
            t.box = t.box + t.velocity
        owner: list[Track | None] = [None] * len(detections)
        free = list(range(len(self.tracks)))
        strong = [i for i, d in enumerate(detections) if d.conf >= self.start(d.cls)]
        weak = [i for i, d in enumerate(detections) if self.low <= d.conf < self.start(d.cls)]
        for group in (strong, weak):
            free = self._match(detections, group, free, owner)
        free = self._match_ground(detections, spots, strong, free, owner)
        for i in strong:
            if owner[i] is None:
                d = detections[i]
                box = np.array(d.box, float)
                owner[i] = Track(next(self._ids), family(d.cls), box, np.zeros(4), hits=0)
                self.tracks.append(owner[i])  # type: ignore[arg-type]
        for i, track in enumerate(owner):
            if track is not None:
                track.hits += 1
                track.misses = 0
                track.see(detections[i], spots[i], self.smoothing)
        seen = {id(t) for t in owner if t is not None}
        for t in self.tracks:
            if id(t) not in seen:
                t.misses += 1
                t.velocity *= 0.5
        self.tracks = [t for t in self.tracks if t.misses <= self.max_misses]
        return [self._out(d, t) for d, t in zip(detections, owner, strict=True)]

    def _out(self, det: Detection, track: Track | None) -> Tracked:
        if track is None or track.hits < self.confirm_frames:
            return Tracked(det, None)
        return Tracked(det, track.id, track.cls, track.geo)

    def _match(
        self, dets: list[Detection], group: list[int], free: list[int], owner: list[Track | None]
    ) -> list[int]:
        if not group or not free:
            return free
        boxes = np.array([dets[i].box for i in group], dtype=float)
        overlap = iou_matrix(np.array([self.tracks[j].box for j in free]), boxes)
        same = np.array(
            [[self.tracks[j].family == family(dets[i].cls) for i in group] for j in free],
            dtype=bool,
        )
        taken: set[int] = set()
        for r, c in _greedy(np.where(same, overlap, 0.0), self.match_iou):
            track, det = self.tracks[free[r]], dets[group[c]]
            new = np.array(det.box, dtype=float)
            track.velocity = 0.6 * track.velocity + 0.4 * (new - track.box + track.velocity)
            track.box = new
            owner[group[c]] = track
            taken.add(free[r])
        return [j for j in free if j not in taken]

    def _match_ground(
        self,
        dets: list[Detection],
        spots: list[LatLon | None],
        group: list[int],
        free: list[int],
        owner: list[Track | None],
    ) -> list[int]:
        """Confident detections no box matched, to tracks of their family nearby on the ground."""
        if self.match_m <= 0:
            return free
        pairs = []
        for i in group:
            spot = spots[i]
            if owner[i] is not None or spot is None:
                continue
            for j in free:
                t = self.tracks[j]
                if t.geo is not None and t.family == family(dets[i].cls):
                    d = distance_m(t.geo, spot)
                    if d <= self.match_m:
                        pairs.append((d, i, j))
        taken: set[int] = set()
        for _, i, j in sorted(pairs):
            if owner[i] is None and j not in taken:
                track = self.tracks[j]
                track.box = np.array(dets[i].box, dtype=float)
                track.velocity = np.zeros(4)
                owner[i] = track
                taken.add(j)
        return [j for j in free if j not in taken]
