"""The MQTT set-up both ends share: broker URLs, logins, back-off, and no secret in any log line."""

from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.bus import MqttBus
from edge.comms.link import MqttLink
from edge.comms.mqtt import Backoff, BrokerSettings, parse_mqtt_url, redact_url, tls_context
from edge.config import MqttConfig
from edge.errors import ConfigError
from edge.outbox import Outbox
from sim.broker import LocalBroker

PASSWORD = "hunter2-not-for-logs"


def test_a_url_gives_host_port_tls_and_login() -> None:
    b = parse_mqtt_url("mqtts://dock%2D01:p%40ss@broker.example")
    assert (b.host, b.port, b.tls, b.username, b.password) == (
        "broker.example",
        8883,
        True,
        "dock-01",
        "p@ss",
    )
    assert (parse_mqtt_url("mqtt://h").port, parse_mqtt_url("tcp://h:1999").port) == (1883, 1999)
    assert parse_mqtt_url("mqtt://h:1").username is None


@pytest.mark.parametrize(
    "url", ["http://h:1883", "mqtt://", "h:1883", "mqtt://h:99999", "mqtt://h:port", "mqtt://[::1"]
)
def test_a_url_that_is_not_a_broker_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_mqtt_url(url)
    assert caught.value.code == "invalid_config"


def test_a_refused_url_is_shown_without_its_password() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_mqtt_url(f"mqtt://dock-01:{PASSWORD}@h:bad")
    assert PASSWORD not in str(caught.value) and "dock-01:***@h:bad" in caught.value.reason
    with pytest.raises(ValueError, match=r"\*\*\*") as invalid:
        MqttConfig(url=f"https://dock-01:{PASSWORD}@h")
    assert PASSWORD not in str(invalid.value)


@given(st.text(min_size=1), st.text(alphabet="abcdefgh-_", min_size=1))
def test_redaction_hides_any_password_whole(password: str, user: str) -> None:
    for written in (password, quote(password, safe="")):
        url = f"mqtts://{user}:{written}@broker.example:8883"
        assert redact_url(url) == f"mqtts://{user}:***@broker.example:8883"


@given(st.text())
def test_any_text_as_a_broker_url_is_parsed_or_refused_with_a_code(url: str) -> None:
    try:
        broker = parse_mqtt_url(url)
    except ConfigError as exc:
        assert exc.code == "invalid_config"
    else:
        assert broker.host and 0 <= broker.port <= 65535


def test_the_settings_show_no_password_in_repr_str_or_address() -> None:
    broker = BrokerSettings.from_url(f"mqtt://dock-01:{PASSWORD}@h:1883")
    assert broker.credentials() == ("dock-01", PASSWORD)
    for text in (repr(broker), str(broker), broker.address, f"{broker}"):
        assert PASSWORD not in text
    assert broker.address == "mqtt://dock-01@h:1883"


def test_explicit_settings_beat_the_url_and_a_file_beats_the_urls_password(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "dock.secret"
    secret.write_text("from-file\n")
    url = "mqtt://url-user:from-url@h"
    assert BrokerSettings.from_url(url).credentials() == ("url-user", "from-url")
    from_file = BrokerSettings.from_url(url, username="me", password_file=secret)
    assert from_file.credentials() == ("me", "from-file")
    given_ = BrokerSettings.from_url(url, password="given", password_file=secret)
    assert given_.credentials() == ("url-user", "given")


def test_the_password_file_is_read_at_every_connect_and_a_missing_one_is_coded(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "dock.secret"
    broker = BrokerSettings.from_url("mqtts://d1@h", password_file=secret)
    with pytest.raises(ConfigError, match="cannot be read") as caught:
        broker.credentials()
    assert caught.value.code == "invalid_config"
    secret.write_text("old\n")
    assert broker.credentials() == ("d1", "old")
    secret.write_text("rotated\n")
    assert broker.credentials() == ("d1", "rotated")


def test_tls_is_only_for_mqtts_and_a_missing_ca_file_is_coded(tmp_path: Path) -> None:
    assert tls_context(parse_mqtt_url("mqtt://h")) is None
    assert tls_context(parse_mqtt_url("mqtts://h")) is not None
    missing = BrokerSettings.from_url("mqtts://h", ca_file=tmp_path / "ca.crt")
    with pytest.raises(ConfigError, match="TLS files") as caught:
        tls_context(missing)
    assert caught.value.code == "invalid_config"


def test_backoff_doubles_to_its_cap_and_starts_again_after_a_connect() -> None:
    fixed = Backoff(0.2, 5.0, jitter=False)
    assert [fixed.next() for _ in range(7)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    fixed.reset()
    assert fixed.next() == 0.2
    jittered = Backoff(0.5, 8.0, rng=random.Random(3))
    for n, delay in enumerate(jittered.next() for _ in range(40)):
        assert min(8.0, 0.5 * 2**n) / 2 <= delay <= min(8.0, 0.5 * 2**n)


async def test_neither_end_logs_the_brokers_password_through_connects_and_outages(
    broker: LocalBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"mqtt://dock-01:{PASSWORD}@{broker.host}:{broker.port}"
    config = MqttConfig(url=url, backoff_initial_s=0.05, backoff_max_s=0.2)

    async def ignore(*_: object) -> None:
        pass

    caplog.set_level(logging.DEBUG)
    with Outbox(tmp_path / "e.sqlite3") as box:
        link = MqttLink(config, "dock-01", box, ignore)
        bus = MqttBus(parse_mqtt_url(url), ["dfr/v1/#"], max_backoff_s=0.2)
        async with asyncio.TaskGroup() as tasks:
            running = [tasks.create_task(link.run()), tasks.create_task(bus.run(ignore))]
            async with asyncio.timeout(15):
                await link.connected.wait()
                await bus.connected.wait()
                await broker.restart(down_s=1.0)  # both see the drop within that second
                await link.connected.wait()
                await bus.connected.wait()
            for task in running:
                task.cancel()
    assert link.connects == 2
    assert "dock-01: broker link down" in caplog.text
    assert "dispatch: broker link down" in caplog.text
    assert "broker link up (mqtt://dock-01@" in caplog.text
    assert PASSWORD not in caplog.text


async def test_an_unreadable_password_file_stops_the_edge_but_dispatch_retries(
    broker: LocalBroker, tmp_path: Path
) -> None:
    secret = tmp_path / "dispatch.secret"
    config = MqttConfig(url=broker.url, password_file=tmp_path / "missing.secret")
    with Outbox(tmp_path / "e.sqlite3") as box:

        async def ignore(*_: object) -> None:
            pass

        with pytest.raises(ConfigError, match="cannot be read"):
            await MqttLink(config, "dock-01", box, ignore).run()
        bus = MqttBus(
            BrokerSettings.from_url(broker.url, password_file=secret), ["x"], max_backoff_s=0.1
        )
        async with asyncio.TaskGroup() as tasks:
            task = tasks.create_task(bus.run(ignore))
            await asyncio.sleep(0.5)
            assert not bus.connected.is_set() and not task.done()
            secret.write_text("now-here\n")
            async with asyncio.timeout(10):
                await bus.connected.wait()
            task.cancel()
