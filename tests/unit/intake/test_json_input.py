"""Parsing JSON for the intake: exact decimals, the same values json gives, NUL refused."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from banktwin.intake import IntakeError, MalformedJsonError
from banktwin.intake.json_input import parse_json, parse_ndjson


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (b"0.1", Decimal("0.1")),
        (b"14523.50", Decimal("14523.50")),
        (b"1e-2", Decimal("0.01")),
        (b"1E+2", Decimal("1E+2")),
        (b"1234567890123456.78", Decimal("1234567890123456.78")),  # a float would round it
        (b"9999999999999999.99", Decimal("9999999999999999.99")),
        (b"-0.0", Decimal("-0.0")),
        (b"12", 12),
        (b"12345678901234567890123", 12345678901234567890123),
    ],
)
def test_numbers_with_a_fraction_are_exact_decimals(text: bytes, value: Any) -> None:
    parsed = parse_json(text)
    assert parsed == value and type(parsed) is type(value)
    assert str(parsed) == str(value)  # the digits as sent, trailing zeros too


@pytest.mark.parametrize(
    "text",
    [
        b'{"a": 1, "a": 2}',
        b'{"s": "caf\\u00e9 \\ud83d\\ude00 \\"q\\" \\/"}',
        b' [true, false, null, "x", [], {}] ',
        b"[0.30000000000000004, 1.10, 5e400, -12.5e-3]",
        '{"city": "Köln"}'.encode(),
        b"\xef\xbb\xbf[1]",  # a byte-order mark: json's own reading takes it
        b'"\\ud800"',  # a lone surrogate, as json keeps it
        b"NaN",
    ],
)
def test_values_are_the_ones_json_gives(text: bytes) -> None:
    expected = json.loads(text, parse_float=Decimal)
    parsed = parse_json(text)
    assert repr(parsed) == repr(expected)


@pytest.mark.parametrize("text", [b"{nope", b"[1,]", b"[1] x", b"01", b'"\xff"', b""])
def test_malformed_json_is_refused_with_json_s_reason(text: bytes) -> None:
    with pytest.raises(ValueError) as reason:  # JSONDecodeError, or UnicodeDecodeError
        json.loads(text)
    with pytest.raises(MalformedJsonError) as refused:
        parse_json(text)
    assert str(refused.value) == f"the body is not valid JSON: {reason.value}"


def test_too_deep_a_nesting_is_malformed_not_a_crash() -> None:
    with pytest.raises(MalformedJsonError, match="nested too deeply"):
        parse_json(b"[" * 100_000 + b"]" * 100_000)


@pytest.mark.parametrize("text", [b'{"name": "A\\u0000"}', b'{"name": "A\x00"}'])
def test_nul_characters_are_refused(text: bytes) -> None:
    with pytest.raises(IntakeError) as refused:
        parse_json(text)
    assert refused.value.errors[0].field == "body"


def test_ndjson_skips_blank_lines_and_names_a_bad_line_by_its_number() -> None:
    assert parse_ndjson(b'{"a": 1.5}\n\n  \r\n{"b": 2}\n') == [{"a": Decimal("1.5")}, {"b": 2}]
    with pytest.raises(MalformedJsonError, match=r"^line 3 is not valid JSON: "):
        parse_ndjson(b'{"a": 1}\n\n{"b": \n')
