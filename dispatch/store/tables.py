"""Tables of the dispatch store (SQLAlchemy Core), the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.sql.expression import false
from sqlalchemy.types import DateTime, TypeDecorator

__all__ = [
    "aid_requests",
    "audit",
    "audit_head",
    "audit_pending",
    "cad_inbox",
    "commands",
    "deliveries",
    "detections",
    "dock_assignments",
    "events",
    "evidence_manifests",
    "evidence_segments",
    "flights",
    "incident_holds",
    "incident_leases",
    "incidents",
    "links",
    "metadata",
    "schema_migrations",
    "sessions",
    "subscriptions",
    "timeline",
    "track_points",
]


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(128), nullable=False),
    Column("applied_at", UtcDateTime, nullable=False),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("cad_ref", String(128), unique=True, nullable=True),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("type", String(64), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("description", Text, nullable=True),
    Column("address", Text, nullable=True),  # migration 7
    Column("status", String(32), nullable=False, index=True),
    Column("dock_id", String(64), nullable=True),
    Column("sortie_id", String(128), nullable=True, index=True),
    Column("eta_s", Float, nullable=True),
    Column("target_lat", Float, nullable=False),
    Column("target_lon", Float, nullable=False),
    Column("alt_rel_m", Float, nullable=True),
    Column("on_scene_s", Float, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False, index=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
)

timeline = Table(
    "timeline",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(40), ForeignKey("incidents.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("type", String(64), nullable=False),
    Column("dock_id", String(64), nullable=True),
    Column("code", String(64), nullable=True),
    Column("text", Text, nullable=False),
    Column("detail", JSON, nullable=False),
    Column("event_id", String(128), nullable=True),
)

events = Table(
    "events",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("dock_id", String(64), nullable=False, index=True),
    Column("sortie_id", String(128), nullable=True),
    Column("incident_id", String(128), nullable=True, index=True),
    Column("seq", Integer, nullable=True),  # the event's place in its sortie (migration 6)
    Column("type", String(64), nullable=False),
    Column("phase", String(32), nullable=True),
    Column("at", UtcDateTime, nullable=False),
    Column("detail", JSON, nullable=False),
    Column("received_at", UtcDateTime, nullable=False, index=True),
)

commands = Table(
    "commands",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("dock_id", String(64), nullable=False, index=True),
    Column("type", String(16), nullable=False),
    Column("incident_id", String(40), nullable=True, index=True),
    Column("actor", String(64), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("body", JSON, nullable=False),
    Column("signed", Boolean, nullable=False),
    Column("ack_ok", Boolean, nullable=True),
    Column("ack_code", String(64), nullable=True),
    Column("ack_reason", Text, nullable=True),
    Column("acked_at", UtcDateTime, nullable=True),
    Column("ack_sortie_id", String(128), nullable=True),  # migration 8
    Column("gave_up_at", UtcDateTime, nullable=True),  # migration 8: the sender stopped waiting
)

detections = Table(
    "detections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(128), nullable=True, index=True),
    Column("sortie_id", String(128), nullable=False),
    Column("dock_id", String(64), nullable=False),
    Column("track_id", Integer, nullable=False),
    Column("cls", String(64), nullable=False),
    Column("conf", Float, nullable=False),
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("first_seen", UtcDateTime, nullable=False),
    UniqueConstraint("sortie_id", "track_id", name="uq_detections_track"),
)

audit = Table(
    "audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(128), nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_pending = Table(  # migration 8
    "audit_pending",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(128), nullable=False),
    Column("detail", Text, nullable=False),
)
"""PostgreSQL: audit rows committed with what they record, chained onto the log moments later
(:meth:`dispatch.store.sql.SqlStore.chain_pending`), so no transaction waits on the chain's
head while it works."""

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    # HMAC of the cookie under the service secret: the cookie itself is never stored
    Column("id", String(64), primary_key=True),
    Column("name", String(64), nullable=False, index=True),
    Column("token_digest", String(64), nullable=False),
    Column("peer", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
)

links = Table(
    "links",
    metadata,
    Column("id", String(32), primary_key=True),
    # HMAC of the link's token under the service secret: the token itself is never stored
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("incident_id", String(40), ForeignKey("incidents.id"), nullable=False, index=True),
    Column("sortie_id", String(128), nullable=True),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("revoked_by", String(128), nullable=True),
    # a link a sharing agreement issued with raw video (migration 5); every other is redacted
    Column("raw", Boolean, nullable=False, server_default=false()),
)

evidence_manifests = Table(
    "evidence_manifests",
    metadata,
    Column("sortie_id", String(128), primary_key=True),
    Column("dock_id", String(64), nullable=False),
    Column("incident_id", String(128), nullable=True, index=True),
    Column("manifest", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime, nullable=True),
)

evidence_segments = Table(
    "evidence_segments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sortie_id", String(128), nullable=False),
    Column("dock_id", String(64), nullable=False),
    Column("incident_id", String(128), nullable=True, index=True),
    Column("file", String(128), nullable=False),
    Column("rendition", String(32), nullable=False),
    Column("frames", Integer, nullable=False),
    Column("start", UtcDateTime, nullable=False),
    Column("end", UtcDateTime, nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("received_sha256", String(64), nullable=True),
    Column("verified_at", UtcDateTime, nullable=True),
    Column("deleted_at", UtcDateTime, nullable=True),
    UniqueConstraint("sortie_id", "file", name="uq_evidence_segment"),
)

track_points = Table(
    "track_points",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sortie_id", String(128), nullable=False, index=True),
    Column("dock_id", String(64), nullable=False),
    Column("incident_id", String(128), nullable=True),
    Column("t", UtcDateTime, nullable=False, index=True),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("alt_rel_m", Float, nullable=False),
)
# Every instance hears every telemetry message and samples the same ones: each stored once.
Index(
    "uq_track_points_at",
    track_points.c.sortie_id,
    track_points.c.dock_id,
    track_points.c.t,
    unique=True,
)

flights = Table(
    "flights",
    metadata,
    Column("sortie_id", String(128), primary_key=True),
    Column("dock_id", String(64), nullable=False),
    Column("incident_id", String(128), nullable=True, index=True),
    Column("home_lat", Float, nullable=True),
    Column("home_lon", Float, nullable=True),
    Column("started_at", UtcDateTime, nullable=True),
    Column("ended_at", UtcDateTime, nullable=True, index=True),
    Column("outcome", String(32), nullable=True),
    Column("detection_ran", Boolean, nullable=False),
    Column("redaction_ran", Boolean, nullable=False),
)

incident_holds = Table(
    "incident_holds",
    metadata,
    Column("incident_id", String(40), primary_key=True),
    Column("legal_hold", Boolean, nullable=False),
    Column("evidence", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(128), nullable=False),
)

Index("ix_timeline_incident_seq", timeline.c.incident_id, timeline.c.seq)

# -- interoperability (migration 3) ------------------------------------------------------

cad_inbox = Table(
    "cad_inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("received_at", UtcDateTime, nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("source", String(64), nullable=False),
    Column("adapter", String(32), nullable=False),
    Column("cad_ref", String(128), nullable=True, index=True),
    Column("outcome", String(16), nullable=False),
    Column("code", String(64), nullable=True),
    Column("reason", Text, nullable=True),
    Column("incident_id", String(40), nullable=True),
    Column("body", LargeBinary, nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("url", Text, nullable=False),
    Column("format", String(16), nullable=False),
    Column("incident_id", String(40), nullable=True),
    Column("secret", String(128), nullable=True),
    Column("peer", String(64), nullable=True),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("active", Boolean, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", String(40), nullable=False, index=True),
    Column("update_id", Integer, nullable=False),
    Column("incident_id", String(40), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("payload", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_at", UtcDateTime, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("delivered_at", UtcDateTime, nullable=True),
    UniqueConstraint("subscription_id", "update_id", name="uq_deliveries_once"),
)

aid_requests = Table(
    "aid_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("direction", String(8), nullable=False),
    Column("peer", String(64), nullable=False),
    Column("incident_id", String(40), nullable=False, index=True),
    Column("remote_incident_id", String(40), nullable=True),
    Column("status", String(16), nullable=False),
    Column("dock_id", String(64), nullable=True),
    Column("eta_s", Float, nullable=True),
    Column("reasons", JSON, nullable=False),
    Column("video", JSON, nullable=True),
    Column("last_update", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("direction", "peer", "incident_id", name="uq_aid_request"),
)

# migration 8: several instances on one database

dock_assignments = Table(
    "dock_assignments",
    metadata,
    Column("dock_id", String(64), primary_key=True),
    Column("incident_id", String(40), nullable=True, index=True),
    Column("command_id", String(128), nullable=True),
    Column("owner", String(128), nullable=True),
    Column("phase", String(16), nullable=True),  # sending | assigned
    Column("lease_until", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=True),
)
"""Which incident each dock is held for, and until when: written under the dock row's lock."""

incident_leases = Table(
    "incident_leases",
    metadata,
    Column("incident_id", String(40), primary_key=True),
    Column("owner", String(128), nullable=False),
    Column("token", String(64), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("lease_until", UtcDateTime, nullable=False, index=True),
)
"""The instance working on an incident (dispatching it, watching its launch), until when."""
