"""When to ask a neighbour: the one policy function, and the agreement's settings."""

from __future__ import annotations

import pytest

from dispatch.config import load_settings
from dispatch.interop.aid_models import aid_ref, should_ask
from dispatch.interop.config import PeerConfig
from dispatch.models import IncidentRecord
from edge.errors import ConfigError
from tests.dispatch.test_store import incident_values

KEY = "agreement-key-0123456789"


def incident(**kw: object) -> IncidentRecord:
    values = {**incident_values("INC-1"), "type": "rtc", "status": "unassigned", **kw}
    return IncidentRecord.model_validate(values)


def peer(**kw: object) -> PeerConfig:
    return PeerConfig.model_validate({"name": "south", "url": "http://s", "secret": KEY, **kw})


def test_a_neighbour_is_asked_only_as_the_agreement_says() -> None:
    assert not should_ask(peer(), incident(), could_queue=False)  # ask is off by default
    assert should_ask(peer(ask=True), incident(), could_queue=False)
    assert not should_ask(peer(ask=True, ask_types=["fire"]), incident(), could_queue=False)
    assert should_ask(peer(ask=True, ask_types=["rtc"]), incident(), could_queue=False)


def test_with_a_queue_to_wait_in_the_neighbour_is_asked_first_only_when_agreed() -> None:
    assert not should_ask(peer(ask=True), incident(), could_queue=True)
    assert should_ask(peer(ask=True, ask_before_queue=True), incident(), could_queue=True)


def test_an_incident_flown_for_a_neighbour_is_never_passed_on() -> None:
    lent = incident(cad_ref=aid_ref("north", "INC-9"))
    assert not should_ask(peer(ask=True, ask_before_queue=True), lent, could_queue=False)


def test_a_bad_agreement_fails_at_startup() -> None:
    with pytest.raises(ConfigError, match="secret"):
        load_settings(
            None, interop={"peers": [{"name": "s", "url": "http://s", "secret": "short"}]}
        )
    with pytest.raises(ConfigError, match="own name"):
        load_settings(
            None, interop={"force": "s", "peers": [{"name": "s", "url": "http://s", "secret": KEY}]}
        )
