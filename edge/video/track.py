"""Stable track ids across frames, ByteTrack-style: confident boxes first, then the faint ones.

Each track predicts its box with a constant-velocity model. Confident detections are matched to
tracks by IoU (same class, greedy, best overlap first); detections below the confident score
but above the low one may only continue an existing track, which keeps ids through brief dips
in confidence and occlusions. Unmatched confident detections start new tracks; a track unseen
for ``max_misses`` frames is dropped.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from edge.detect import Detection

__all__ = ["Track", "Tracked", "Tracker"]


@dataclass(slots=True)
class Track:
    """One object followed across frames."""

    id: int
    cls_id: int
    box: NDArray[np.float64]
    velocity: NDArray[np.float64]
    hits: int = 1
    misses: int = 0


@dataclass(frozen=True, slots=True)
class Tracked:
    """A detection with the id of the track it belongs to (None for an unmatched faint one)."""

    det: Detection
    track_id: int | None


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
    """

    def __init__(
        self, high: float = 0.4, low: float = 0.1, match_iou: float = 0.2, max_misses: int = 30
    ) -> None:
        self.high, self.low, self.match_iou, self.max_misses = high, low, match_iou, max_misses
        self.tracks: list[Track] = []
        self._ids = itertools.count(1)

    def update(self, detections: list[Detection]) -> list[Tracked]:
        """Match one frame's detections to tracks; returns them in the order given."""
        for t in self.tracks:
            t.box = t.box + t.velocity
        ids: list[int | None] = [None] * len(detections)
        free = list(range(len(self.tracks)))
        strong = [i for i, d in enumerate(detections) if d.conf >= self.high]
        weak = [i for i, d in enumerate(detections) if self.low <= d.conf < self.high]
        for group in (strong, weak):
            free = self._match(detections, group, free, ids)
        for i in strong:
            if ids[i] is None:
                d = detections[i]
                track = Track(next(self._ids), d.cls_id, np.array(d.box, float), np.zeros(4))
                self.tracks.append(track)
                ids[i] = track.id
        seen = set(ids)
        for t in self.tracks:
            if t.id not in seen:
                t.misses += 1
                t.velocity *= 0.5
        self.tracks = [t for t in self.tracks if t.misses <= self.max_misses]
        return [Tracked(d, i) for d, i in zip(detections, ids, strict=True)]

    def _match(
        self, dets: list[Detection], group: list[int], free: list[int], ids: list[int | None]
    ) -> list[int]:
        if not group or not free:
            return free
        boxes = np.array([dets[i].box for i in group], dtype=float)
        overlap = iou_matrix(np.array([self.tracks[j].box for j in free]), boxes)
        same = np.array(
            [[self.tracks[j].cls_id == dets[i].cls_id for i in group] for j in free], dtype=bool
        )
        taken: set[int] = set()
        for r, c in _greedy(np.where(same, overlap, 0.0), self.match_iou):
            track, det = self.tracks[free[r]], dets[group[c]]
            new = np.array(det.box, dtype=float)
            track.velocity = 0.6 * track.velocity + 0.4 * (new - track.box + track.velocity)
            track.box = new
            track.hits += 1
            track.misses = 0
            ids[group[c]] = track.id
            taken.add(free[r])
        return [j for j in free if j not in taken]
