"""Typed errors of the dispatch service and the HTTP status each code maps to.

Our exception hierarchy (all under :class:`edge.errors.OutriderError`)::

    OutriderError
    └── DispatchError            base of this service's errors
        ├── NotFoundError        not_found: no such incident, dock or link target
        ├── ConflictError        conflict: the action does not fit the incident's state
        │                        (not_queued: cancelling an incident that is not queued)
        ├── NoDockError          no_dock_available: every dock's reason attached
        ├── CommandError         an ack that refused (its own code) or none in time
        ├── AuthError            unauthorized / link_expired / link_revoked / link_ended
        ├── ForbiddenError       forbidden / cross_origin: your role or page may not do this
        ├── LimitError           rate_limited / login_backoff / too_large: slow down, send less
        └── UnavailableError     mqtt_unavailable / store_unavailable / peer_unavailable

Interoperability adds codes of these classes: ``bad_signature``, ``stale_request`` and
``unknown_source`` (AuthError), ``replayed`` (ConflictError), ``not_in_agreement``
(ForbiddenError); a CAD document that cannot be read is a ``ProtocolError``
(``malformed_json``, ``unsupported_document``, ``no_location``, ``invalid_field``).
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.errors import OutriderError

__all__ = [
    "AuthError",
    "CommandError",
    "ConflictError",
    "DispatchError",
    "DockReason",
    "ForbiddenError",
    "LimitError",
    "NoDockError",
    "NotFoundError",
    "UnavailableError",
    "http_status",
]


class DispatchError(OutriderError):
    """Base of the dispatch service's errors."""

    default_code = "dispatch_error"


class NotFoundError(DispatchError):
    """The thing asked for does not exist."""

    default_code = "not_found"


class ConflictError(DispatchError):
    """The action does not fit the current state (closed incident, no dock assigned, ...)."""

    default_code = "conflict"


@dataclass(frozen=True)
class DockReason:
    """Why one dock cannot take an incident (or did not)."""

    dock_id: str
    code: str
    reason: str


class NoDockError(DispatchError):
    """No dock can take the incident; ``docks`` says why for every dock."""

    default_code = "no_dock_available"

    def __init__(
        self, reason: str, *, docks: list[DockReason], incident_id: str | None = None
    ) -> None:
        super().__init__(reason)
        self.docks = docks
        self.incident_id = incident_id


class CommandError(DispatchError):
    """A command the dock refused (``code`` is the ack's) or did not acknowledge in time."""

    default_code = "ack_timeout"


class AuthError(DispatchError):
    """No credentials, unknown token, bad or expired session or link."""

    default_code = "unauthorized"


class ForbiddenError(DispatchError):
    """Known caller whose role does not allow the action."""

    default_code = "forbidden"


class LimitError(DispatchError):
    """A caller over a limit: too many requests, sign-ins, or bytes.

    Attributes:
        retry_after_s: when it is worth trying again, if known.
    """

    default_code = "rate_limited"

    def __init__(self, reason: str, *, code: str | None = None, retry_after_s: float = 1.0):
        super().__init__(reason, code=code)
        self.retry_after_s = retry_after_s


class UnavailableError(DispatchError):
    """A backend (broker, database) the action needs is not reachable now."""

    default_code = "unavailable"


STATUS: dict[str, int] = {
    "not_found": 404,
    "conflict": 409,
    "no_dock_available": 409,
    "not_queued": 409,
    "ack_timeout": 504,
    "unauthorized": 401,
    "link_expired": 401,
    "link_revoked": 401,
    "link_ended": 401,
    "forbidden": 403,
    "cross_origin": 403,
    "too_large": 413,
    "rate_limited": 429,
    "login_backoff": 429,
    "unavailable": 503,
    "mqtt_unavailable": 503,
    "store_unavailable": 503,
    "invalid_field": 422,
    "offset_mismatch": 409,
    "manifest_conflict": 409,
    "legal_hold": 409,
    "hash_mismatch": 422,
    "segment_missing": 404,
    "reason_required": 422,
    "malformed_json": 400,
    "invalid_config": 500,
    "internal_error": 500,
    "bad_signature": 401,
    "stale_request": 401,
    "unknown_source": 401,
    "replayed": 409,
    "unknown_adapter": 404,
    "unsupported_document": 422,
    "no_location": 422,
    "not_in_agreement": 403,
    "peer_unavailable": 502,
}


def http_status(error: OutriderError) -> int:
    """The HTTP status for an error: by code, else 409 for an ack refusal, else 500."""
    if error.code in STATUS:
        return STATUS[error.code]
    if isinstance(error, CommandError):
        return 409
    return 500
