"""Prometheus metrics of one dispatch instance, in a registry of its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from edge.protocol.video import FrameHeader

__all__ = ["Metrics"]

FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """Every metric the service exports at ``/metrics``."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.messages = Counter(
            "dispatch_mqtt_messages", "MQTT messages handled", ["kind"], registry=r
        )
        self.rejected = Counter(
            "dispatch_mqtt_rejected", "MQTT messages refused", ["kind", "code"], registry=r
        )
        self.dropped = Counter(
            "dispatch_mqtt_dropped",
            "MQTT messages dropped unread because the receive queue was full",
            registry=r,
        )
        self.handling = Histogram(
            "dispatch_mqtt_handling_seconds", "Time to handle one message", buckets=FAST, registry=r
        )
        self.telemetry_age = Histogram(
            "dispatch_telemetry_age_seconds",
            "Telemetry age when handled (publish to handled)",
            buckets=FAST,
            registry=r,
        )
        self.events = Counter("dispatch_events", "Sortie events received", ["result"], registry=r)
        self.commands = Counter(
            "dispatch_commands", "Commands sent", ["type", "result"], registry=r
        )
        self.incidents = Counter(
            "dispatch_incidents", "Incidents by dispatch outcome", ["outcome"], registry=r
        )
        self.docks = Gauge("dispatch_docks", "Docks known", ["status"], registry=r)
        self.mqtt_connected = Gauge("dispatch_mqtt_connected", "1 when connected", registry=r)
        self.queue = Gauge("dispatch_record_queue", "Messages waiting to be stored", registry=r)
        self.http = Histogram(
            "dispatch_http_request_seconds",
            "HTTP requests",
            ["method", "route", "status"],
            buckets=FAST,
            registry=r,
        )
        self.frames_in = Counter(
            "dispatch_video_frames_in", "Video frames received", ["dock_id"], registry=r
        )
        self.frames_bad = Counter(
            "dispatch_video_frames_refused", "Video frames refused", ["code"], registry=r
        )
        self.frames_out = Counter(
            "dispatch_video_frames_out", "Video frames sent to viewers", ["dock_id"], registry=r
        )
        self.frames_dropped = Counter(
            "dispatch_video_frames_dropped",
            "Frames a viewer skipped because a newer one arrived first",
            ["dock_id"],
            registry=r,
        )
        self.viewers = Gauge("dispatch_video_viewers", "Connected viewers", ["dock_id"], registry=r)
        self.video_bus = Counter(
            "dispatch_video_bus_frames",
            "Frames to and from other instances: sent, unsent (bus down or frame too large), "
            "received",
            ["outcome"],
            registry=r,
        )
        self.video_latency = Histogram(
            "dispatch_video_latency_seconds",
            "Frame received to sent to a viewer",
            ["dock_id"],
            buckets=FAST,
            registry=r,
        )
        self.video_bytes_in = Counter(
            "dispatch_video_bytes_in",
            "Video bytes received (rate(): the bitrate each rendition arrives at)",
            ["dock_id", "rendition", "codec"],
            registry=r,
        )
        self.keyframes_in = Counter(
            "dispatch_video_keyframes_in",
            "Keyframes received",
            ["dock_id", "rendition"],
            registry=r,
        )
        self.uplink_level = Gauge(
            "dispatch_video_uplink_level",
            "The edge's bitrate ladder rung (0: the top), from its last keyframe",
            ["dock_id"],
            registry=r,
        )
        self.uplink_target = Gauge(
            "dispatch_video_uplink_target_kbps",
            "The edge encoder's bitrate cap, from its last keyframe",
            ["dock_id", "rendition"],
            registry=r,
        )
        self.uplink_backlog = Gauge(
            "dispatch_video_uplink_backlog_seconds",
            "The edge uplink's send backlog, from its last keyframe",
            ["dock_id"],
            registry=r,
        )
        self.uplink_dropped = Gauge(
            "dispatch_video_uplink_dropped_frames",
            "Frames the edge uplink dropped to keep up (its running count)",
            ["dock_id"],
            registry=r,
        )
        self.audit = Counter("dispatch_audit_rows", "Audit rows written", registry=r)
        self.refused = Counter(
            "dispatch_http_refused",
            "Requests refused before they reached a route",
            ["code"],
            registry=r,
        )
        self.login_failures = Counter(
            "dispatch_login_failures", "Failed sign-ins (audited in summary rows)", registry=r
        )

    def observe_frame(self, dock_id: str, header: FrameHeader, size: int) -> None:
        """Count one received video frame; a keyframe also updates the edge's uplink gauges."""
        self.frames_in.labels(dock_id).inc()
        self.video_bytes_in.labels(dock_id, header.rendition, header.codec).inc(size)
        if not header.key:
            return
        self.keyframes_in.labels(dock_id, header.rendition).inc()
        link = header.link
        if link is not None:
            self.uplink_level.labels(dock_id).set(link.level)
            self.uplink_target.labels(dock_id, header.rendition).set(link.target_kbps)
            self.uplink_backlog.labels(dock_id).set(link.backlog_ms / 1000)
            self.uplink_dropped.labels(dock_id).set(link.dropped)
