"""Track ids across frames, annotation, and redaction that fails closed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from edge.detect import AutoDetectorConfig, Detection, load_detector
from edge.video import VideoConfig
from edge.video.encode import Encoder
from edge.video.frames import Frame
from edge.video.redact import RedactionError, redact
from edge.video.stages import Analysed, Analyser
from edge.video.track import Tracker
from tests.video.conftest import decode_h264, read_image


def person(x: float, conf: float = 0.8, y: float = 100.0) -> Detection:
    return Detection(0, "person", conf, (x, y, x + 30, y + 80))


def test_a_moving_object_keeps_its_track_id_and_a_new_one_gets_another() -> None:
    tracker = Tracker()
    ids = [tracker.update([person(100 + 6 * i)])[0].track_id for i in range(10)]
    assert len(set(ids)) == 1 and ids[0] is not None
    both = tracker.update([person(160), person(400)])
    assert both[0].track_id == ids[0] and both[1].track_id not in (None, ids[0])


def test_a_track_survives_a_dip_in_confidence_and_a_short_occlusion() -> None:
    tracker = Tracker(max_misses=5)
    first = tracker.update([person(100)])[0].track_id
    assert tracker.update([person(104, conf=0.15)])[0].track_id == first
    for _ in range(3):
        tracker.update([])
    assert tracker.update([person(112)])[0].track_id == first


def test_a_faint_detection_never_starts_a_track_and_old_tracks_expire() -> None:
    tracker = Tracker(max_misses=2)
    assert tracker.update([person(100, conf=0.2)])[0].track_id is None
    tracker.update([person(300)])
    for _ in range(3):
        tracker.update([])
    assert tracker.tracks == []


def test_classes_do_not_share_tracks() -> None:
    tracker = Tracker()
    a = tracker.update([person(100)])[0].track_id
    car = Detection(2, "car", 0.9, (100, 100, 130, 180))
    assert tracker.update([car])[0].track_id != a


def test_redaction_pixelates_the_boxes_and_leaves_the_rest_alone(assets: Path) -> None:
    image = read_image(assets / "bus.jpg")
    box = (50.0, 400.0, 220.0, 890.0)
    hidden = redact(image, [box])
    inside = (slice(420, 870), slice(70, 200))
    assert hidden[inside].std() < image[inside].std() * 0.8
    assert np.abs(hidden[inside].astype(int) - image[inside]).mean() > 5
    assert np.array_equal(hidden[:, 400:], image[:, 400:])


def test_redaction_refuses_what_it_cannot_redact() -> None:
    with pytest.raises(RedactionError):
        redact(np.zeros((10, 10), dtype=np.uint8), [])
    with pytest.raises(RedactionError):
        redact(np.zeros((10, 10, 3), dtype=np.uint8), [(0, 0, float("nan"), 5)])


def frame_of(image: np.ndarray) -> Frame:  # type: ignore[type-arg]
    return Frame(1, image, datetime.now(UTC), 0.0)


def encoder(codec: str = "h264", quality: int = 70) -> Encoder:
    config = VideoConfig.model_validate({"codec": codec, "jpeg_quality": quality})
    return Encoder("dock-01", config, ["raw", "redacted"])


def test_a_frame_whose_detection_failed_is_sent_raw_but_never_redacted(model_path: Path) -> None:
    detector = load_detector(AutoDetectorConfig(model=model_path))
    analyser = Analyser(detector, Tracker(), 60.0, ["person"])
    grey = np.full((120, 160), 128, dtype=np.uint8)  # a frame the detector cannot take
    result = analyser.run(frame_of(grey))  # type: ignore[arg-type]
    assert result.objects is None and result.error
    coloured = Analysed(frame_of(np.full((120, 160, 3), 128, np.uint8)), None, None, result.error)
    for codec in ("h264", "jpeg"):
        out = encoder(codec).run(coloured)
        assert [r for r, _ in out.messages] == ["raw"]


def test_a_frame_whose_redaction_failed_is_not_sent_redacted(assets: Path) -> None:
    image = read_image(assets / "bus.jpg")
    broken = Analysed(frame_of(image), [], [(0.0, 0.0, float("inf"), 10.0)])
    out = encoder().run(broken)
    assert [r for r, _ in out.messages] == ["raw"] and out.redaction_failed


def test_after_a_frame_left_out_the_redacted_stream_restarts_at_a_keyframe(
    model_path: Path, assets: Path
) -> None:
    """Detection fails on frames 3 and 6: the redacted stream leaves them out and goes on with a
    keyframe, so no decoder ever builds a picture on one that was not redacted; raw goes on."""
    detector = load_detector(AutoDetectorConfig(model=model_path))
    analyser = Analyser(detector, Tracker(), 60.0, ["person"])
    image = read_image(assets / "bus.jpg")[:480, :640].copy()
    enc = encoder()
    sent: dict[str, list[tuple[int, bool, bytes]]] = {"raw": [], "redacted": []}
    for n in range(1, 9):
        frame = Frame(n, image, datetime.now(UTC), n / 15)
        result = analyser.run(frame)
        if n in (3, 6):
            result = Analysed(frame, None, None, "the runtime failed")
        for f in enc.run(result).frames:
            sent[f.rendition].append((f.header.frame, f.header.key, f.body))
    assert [n for n, _, _ in sent["raw"]] == list(range(1, 9))
    assert [n for n, _, _ in sent["raw"] if _key(sent["raw"], n)] == [1]
    redacted = sent["redacted"]
    assert [n for n, _, _ in redacted] == [1, 2, 4, 5, 7, 8]
    assert [n for n, key, _ in redacted if key] == [1, 4, 7]
    raw_pictures = decode_h264([body for _, _, body in sent["raw"]])
    red_pictures = decode_h264([body for _, _, body in redacted])
    assert len(red_pictures) == 6
    people = [o for o in analyser.run(Frame(9, image, datetime.now(UTC), 1.0)).objects or []]
    for o in (p for p in people if p.cls == "person"):
        x1, y1, x2, y2 = (int(v) for v in o.bbox)
        core = (slice(y1 + (y2 - y1) // 4, y2 - (y2 - y1) // 4), slice(x1 + 8, x2 - 8))
        for picture in red_pictures:
            assert picture[core].std() < raw_pictures[-1][core].std()


def _key(frames: list[tuple[int, bool, bytes]], n: int) -> bool:
    return next(key for m, key, _ in frames if m == n)


def test_the_redacted_rendition_hides_the_people_the_raw_one_shows(
    model_path: Path, assets: Path
) -> None:
    import cv2

    from edge.protocol.video import unpack_frame

    detector = load_detector(AutoDetectorConfig(model=model_path))
    image = read_image(assets / "bus.jpg")
    result = Analyser(detector, Tracker(), 60.0, ["person"]).run(frame_of(image))
    out = encoder("jpeg", 90).run(result, sortie_id="S-1", incident_id="INC-1")
    frames = {r: unpack_frame(data) for r, data in out.messages}
    assert set(frames) == {"raw", "redacted"}
    header, _ = frames["redacted"]
    assert header.rendition == "redacted" and header.sortie_id == "S-1"
    people = [o for o in header.objects if o.cls == "person"]
    assert len(people) >= 3
    raw = cv2.imdecode(np.frombuffer(frames["raw"][1], np.uint8), cv2.IMREAD_COLOR)
    red = cv2.imdecode(np.frombuffer(frames["redacted"][1], np.uint8), cv2.IMREAD_COLOR)
    for o in people:
        x1, y1, x2, y2 = (int(v) for v in o.bbox)
        core = (slice(y1 + (y2 - y1) // 4, y2 - (y2 - y1) // 4), slice(x1 + 8, x2 - 8))
        assert red[core].std() < raw[core].std()
