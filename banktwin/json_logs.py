"""Structured logs: one JSON object per line, for the long-running commands (``serve``,
``worker``), whose logs are read by a log collector rather than a person.

A line carries ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, ``requestId``
while an HTTP request is served, every field given with ``extra=``, and ``exc`` (the
traceback) for an exception. ``BANKTWIN_LOG_FORMAT=text`` keeps one line of text instead.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from banktwin.api.request_ids import current_request_id
from banktwin.config import LogFormat

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "requestId",
    "color_message",  # uvicorn's copy of its message with terminal colours
}
"""What every record has: anything else on a record was given with ``extra=``."""


def request_id_of(record: logging.LogRecord) -> str | None:
    """The request a record was written for: given with ``extra={"requestId": …}``, else the
    request being served where it was written."""
    given = getattr(record, "requestId", None)
    return given if isinstance(given, str) else current_request_id()


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON (see the module)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_of(record)
        if request_id:
            line["requestId"] = request_id
        for key, value in vars(record).items():
            if key not in RECORD_ATTRIBUTES:
                line.setdefault(key, value)  # an extra never hides one of the fields above
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # default=str: a log line must never fail for a value JSON cannot hold
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """One line of text, ending with the request id while a request is served."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        text = super().formatMessage(record)
        request_id = request_id_of(record)
        return f"{text} [requestId={request_id}]" if request_id else text


def configure_logging(log_format: LogFormat, level: int = logging.INFO) -> None:
    """Send every log record (uvicorn's included, when it is run with ``log_config=None``) to
    standard error as ``log_format`` says. Does nothing if logging is set up already (a test,
    or a program embedding banktwin)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logging.basicConfig(level=level, handlers=[handler])
