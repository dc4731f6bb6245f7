"""Edge configuration: the shipped examples load, typos and bad values name their key."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import load_config
from edge.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("name", ["dock-01.toml", "dock-02.toml", "dock-03.toml"])
def test_every_shipped_dock_config_loads(name: str) -> None:
    config = load_config(CONFIGS / name)
    assert config.dock.id == name.removesuffix(".toml")
    assert all(path.is_file() for path in config.airspace.nofly)
    assert config.published_limits(5.0).airframe.battery_wh == config.airframe.battery_wh


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dock.toml"
    path.write_text(text)
    return path


SIGNING = '[signing]\npublic_key = "dispatch.pub.pem"\nkey = "d1.pem"\n'
MINIMAL = SIGNING + '[dock]\nid = "d1"\nhome = { lat = 51.5, lon = -0.1, alt_amsl_m = 20 }\n'


def test_a_misspelt_key_is_refused_naming_it(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "[flight]\ncruise_mph = 30\n")
    with pytest.raises(ConfigError, match=r"flight\.cruise_mph"):
        load_config(path)


def test_an_unknown_airframe_key_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "[airframe]\nbattery_kwh = 1\n")
    with pytest.raises(ConfigError, match=r"airframe\.battery_kwh"):
        load_config(path)


def test_a_bad_broker_url_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + '[mqtt]\nurl = "http://broker"\n')
    with pytest.raises(ConfigError, match=r"mqtt\.url"):
        load_config(path)


def test_a_missing_dock_section_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dock"):
        load_config(_write(tmp_path, SIGNING + "[flight]\ncruise_mps = 10\n"))


def test_an_edge_without_dispatchs_key_refuses_to_start_unless_allowed_for_development(
    tmp_path: Path,
) -> None:
    bare = MINIMAL.removeprefix(SIGNING)
    with pytest.raises(ConfigError, match=r"signing: .*public_key and key not set") as err:
        load_config(_write(tmp_path, bare))
    assert "allow_unsigned" in err.value.reason and "anyone on the broker" in err.value.reason
    only_public = '[signing]\npublic_key = "dispatch.pub.pem"\n'
    with pytest.raises(ConfigError, match=r"signing: .*key not set"):
        load_config(_write(tmp_path, only_public + bare))
    config = load_config(_write(tmp_path, "[signing]\nallow_unsigned = true\n" + bare))
    assert config.signing.allow_unsigned and config.signing.public_key is None


@pytest.mark.parametrize("name", ["dock-01.toml", "dock-02.toml", "dock-03.toml"])
def test_every_shipped_dock_config_names_dispatchs_key_and_its_own(name: str) -> None:
    signing = load_config(CONFIGS / name).signing
    assert signing.public_key is not None and signing.key is not None
    assert signing.key.name == name.replace(".toml", "_ed25519.pem")
    assert not signing.allow_unsigned


def test_a_transit_altitude_over_the_ceiling_is_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace("alt_amsl_m = 20", "alt_amsl_m = 20, height_above_ground_m = 80")
    with pytest.raises(ConfigError, match="ceiling"):
        load_config(_write(tmp_path, text + "[flight]\ntransit_alt_m = 60\n"))


def test_broken_toml_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "[dock\n"))


def test_environment_beats_the_file_and_flags_beat_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, MINIMAL + '[mqtt]\nurl = "mqtt://file:1"\n')
    monkeypatch.setenv("OUTRIDER_MQTT__URL", "mqtt://env:2")
    monkeypatch.setenv("OUTRIDER_FLIGHT__CRUISE_MPS", "11")
    config = load_config(path)
    broker = config.mqtt.broker()
    assert (broker.host, broker.port, config.flight.cruise_mps) == ("env", 2, 11)
    config = load_config(path, mqtt={"url": "mqtts://flag:3"})
    broker = config.mqtt.broker()
    assert (broker.host, broker.port, broker.tls) == ("flag", 3, True)


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, 'state_dir = "st"\n' + MINIMAL + '[airspace]\nnofly = ["z.geojson"]\n')
    config = load_config(path)
    assert config.state_dir == tmp_path / "st"
    assert config.airspace.nofly == [tmp_path / "z.geojson"]


def test_credentials_come_from_the_url_or_a_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "dock.secret"
    secret.write_text("s3cret\n")
    path = _write(
        tmp_path, MINIMAL + '[mqtt]\nurl = "mqtts://d1@b:8883"\npassword_file = "dock.secret"\n'
    )
    assert load_config(path).mqtt.broker().credentials() == ("d1", "s3cret")
