"""The edge's communication with dispatch: the MQTT transport and the command dispatcher."""

from edge.comms.dispatcher import CommandDispatcher, Handler, Outcome
from edge.comms.link import MqttLink, backoff_delays

__all__ = ["CommandDispatcher", "Handler", "MqttLink", "Outcome", "backoff_delays"]
