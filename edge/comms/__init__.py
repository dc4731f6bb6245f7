"""The edge's communication with dispatch: the MQTT transport and the command dispatcher."""

from edge.comms.dispatcher import CommandDispatcher, Handler, Outcome
from edge.comms.link import MqttLink
from edge.comms.mqtt import BrokerSettings

__all__ = ["BrokerSettings", "CommandDispatcher", "Handler", "MqttLink", "Outcome"]
