"""The ``[video]`` section of the edge config: defaults, sources, and typos refused by name."""

from __future__ import annotations

import tomllib

import pytest
from pydantic import ValidationError

from edge.detect import PLUGINS, AutoDetectorConfig
from edge.video import VideoConfig
from edge.video.cameras.file import FileCameraConfig
from edge.video.cameras.stream import StreamCameraConfig
from sim.camera.source import SimCameraConfig

SECTION = """
width = 1280
height = 720
fps = 25
jpeg_quality = 80
hfov_deg = 55
threads = 1

[camera]
type = "stream"
url = "rtsp://10.0.0.7:8554/gimbal"

[detector]
type = "auto"
model = "models/yolo.onnx"
conf = 0.3

[uplink]
url = "https://dispatch.example"
token = "t0k3n"
renditions = ["redacted"]

[recording]
dir = "/var/lib/outrider/recordings"
segment_s = 30
"""


def test_defaults_need_no_section_at_all() -> None:
    config = VideoConfig()
    assert isinstance(config.camera, SimCameraConfig)
    assert isinstance(config.detector, AutoDetectorConfig)
    assert (config.width, config.height) == (640, 480)
    assert config.uplink.url is None and config.recording.dir is None


def test_a_full_section_parses_into_typed_parts() -> None:
    config = VideoConfig.model_validate(tomllib.loads(SECTION))
    assert isinstance(config.camera, StreamCameraConfig)
    assert config.camera.url.startswith("rtsp://")
    assert config.detector.conf == 0.3
    assert config.uplink.token is not None and "t0k3n" not in repr(config)
    assert config.uplink.renditions == ["redacted"]


@pytest.mark.parametrize(
    ("toml", "where"),
    [
        ("jpeg_qualty = 50", "jpeg_qualty"),
        ('[camera]\ntype = "file"\npth = "x.mp4"', "pth"),
        ('[camera]\ntype = "webcam"', "camera"),
        ('[detector]\ntype = "auto"\nconfidence = 0.5', "confidence"),
        ('[uplink]\nurl = "ftp://dispatch"', "url"),
        ('[uplink]\nurl = ["https://d1.example", "ftp://d2"]', "url"),
        ("width = 641", "width"),
    ],
)
def test_a_typo_or_bad_value_is_refused_naming_the_key(toml: str, where: str) -> None:
    with pytest.raises(ValidationError) as err:
        VideoConfig.model_validate(tomllib.loads(toml))
    assert where in str(err.value)


def test_an_uplink_may_name_several_dispatch_instances() -> None:
    urls = ["https://dispatch-1.example", "https://dispatch-2.example"]
    assert VideoConfig.model_validate({"uplink": {"url": urls}}).uplink.url == urls


def test_every_installed_runtime_can_be_named_and_a_file_source_takes_a_path() -> None:
    for key in PLUGINS:
        assert VideoConfig.model_validate({"detector": {"type": key}}).detector.type == key
    config = VideoConfig.model_validate({"camera": {"type": "file", "path": "clip.mp4"}})
    assert isinstance(config.camera, FileCameraConfig)
