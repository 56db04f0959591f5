"""Structured logs: each record one line of JSON with its fields, exceptions included, and
the request id of the request it was written for."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from banktwin import cli
from banktwin.api.request_ids import RequestIdMiddleware
from banktwin.config import LogFormat, load_settings
from banktwin.errors import ConfigurationError
from banktwin.json_logs import JsonFormatter, TextFormatter, configure_logging


@pytest.fixture
def written() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose records are written, as JSON, to the returned stream."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("banktwin.test_json_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_a_record_is_one_json_line_with_its_fields(
    written: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = written
    before = datetime.now(UTC)
    logger.info("applied %d events\nof %s", 12, "twin", extra={"partition": 3, "consumer": "twin"})
    [line] = lines(stream)
    assert line["level"] == "INFO"
    assert line["logger"] == "banktwin.test_json_logs"
    assert line["message"] == "applied 12 events\nof twin"
    assert (line["partition"], line["consumer"]) == (3, "twin")
    assert line["time"].endswith("Z")
    moment = datetime.fromisoformat(line["time"])
    assert moment.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= moment <= datetime.now(UTC)
    assert "requestId" not in line and "exc" not in line  # outside a request, no exception


def test_an_exception_is_in_exc(written: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = written
    known: dict[str, int] = {}
    try:
        known["missing"]
    except KeyError:
        logger.exception("lookup failed")
    [line] = lines(stream)
    assert line["level"] == "ERROR" and line["message"] == "lookup failed"
    assert line["exc"].startswith("Traceback (most recent call last)")
    assert "KeyError: 'missing'" in line["exc"]


def test_extras_json_cannot_hold_are_written_as_text_and_never_hide_a_field(
    written: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = written
    when = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    logger.warning("odd extras", extra={"at": when, "ids": {1}, "level": "mine", "time": 0})
    [line] = lines(stream)
    assert line["at"] == str(when) and line["ids"] == "{1}"
    assert line["level"] == "WARNING" and line["time"] != 0


def test_a_request_id_given_with_extra_is_written(
    written: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = written
    logger.error("answered 500", extra={"requestId": "support-4711"})
    [line] = lines(stream)
    assert line["requestId"] == "support-4711"


def test_lines_written_while_a_request_is_served_carry_its_id(
    written: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = written

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        logger.info("inside the request")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"x-request-id", b"abc-1")],
    }
    asyncio.run(RequestIdMiddleware(app)(scope, receive, send))
    logger.info("after it")
    inside, after = lines(stream)
    assert inside["requestId"] == "abc-1"
    assert "requestId" not in after  # asyncio.run served it in a context of its own
    assert (b"x-request-id", b"abc-1") in sent[0]["headers"]


def test_the_text_format_ends_a_line_with_the_request_id() -> None:
    record = logging.LogRecord("banktwin.x", logging.INFO, __file__, 1, "hello", None, None)
    assert TextFormatter().format(record).endswith("INFO banktwin.x: hello")
    record.requestId = "r-9"
    assert TextFormatter().format(record).endswith("INFO banktwin.x: hello [requestId=r-9]")


@contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger without handlers (as in a fresh process), restored afterwards. Used
    inside a test: pytest adds its own handlers when the test body starts."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers = []
    try:
        yield root
    finally:
        root.handlers, root.level = handlers, level


@pytest.mark.parametrize(("given", "formatter"), [("json", JsonFormatter), ("text", TextFormatter)])
def test_configure_logging_writes_to_stderr_in_the_format_asked(
    given: LogFormat, formatter: type[logging.Formatter]
) -> None:
    with bare_root() as root:
        configure_logging(given)
        [handler] = root.handlers
        assert isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr
        assert type(handler.formatter) is formatter
        assert root.level == logging.INFO


def test_serve_and_worker_log_json_unless_the_setting_says_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BANKTWIN_LOG_FORMAT", raising=False)
    with bare_root() as root:
        cli._settings("json")
        assert isinstance(root.handlers[0].formatter, JsonFormatter)
    assert os.environ["BANKTWIN_LOG_FORMAT"] == "json"  # the processes it starts follow
    monkeypatch.setenv("BANKTWIN_LOG_FORMAT", "text")
    with bare_root() as root:
        cli._settings("json")
        assert isinstance(root.handlers[0].formatter, TextFormatter)


def test_an_unknown_log_format_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BANKTWIN_LOG_FORMAT", "xml")
    with pytest.raises(ConfigurationError, match="BANKTWIN_LOG_FORMAT"):
        load_settings()
