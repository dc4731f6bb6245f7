"""JSON log lines for the service: one object per record, easy for log shippers."""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from edge.comms.mqtt import parse_mqtt_url
from edge.errors import ConfigError
from edge.redact import install as install_redaction
from edge.redact import remember_secret

if TYPE_CHECKING:
    from dispatch.config import DispatchSettings

__all__ = ["JsonFormatter", "configure_logging", "remember_secrets"]

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """``{"t", "level", "logger", "msg", ...extra fields, "exc"}`` per line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "t": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = (
                    value if isinstance(value, str | int | float | bool | None) else repr(value)
                )
        if record.exc_text:
            out["exc"] = record.exc_text  # already formatted, and redacted
        elif record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure_logging(fmt: str, level: str = "INFO") -> None:
    """Give the root logger one stderr handler in ``json`` or ``text`` format, which keeps
    secrets (passwords in URLs, link tokens, bearer credentials) out of every line."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    install_redaction(root)


def remember_secrets(settings: DispatchSettings) -> None:
    """Keep the settings' secrets out of the logs wherever they might turn up."""
    remember_secret(settings.secret.get_secret_value())
    for token in settings.tokens:
        remember_secret(token.token.get_secret_value() if token.token else None)
    with contextlib.suppress(ConfigError):  # an unusable URL stops the service elsewhere
        remember_secret(parse_mqtt_url(settings.mqtt_url).password)
    for url in filter(None, settings.cluster.video_bus.split(",")):
        remember_secret(urlsplit(url.strip()).password)
    with contextlib.suppress(OSError):
        path = settings.cluster.video_bus_password_file
        remember_secret(path.read_text(encoding="utf-8").strip() if path else None)
