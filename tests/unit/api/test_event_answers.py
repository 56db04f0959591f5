"""How the API answers posted events: receipts, and the intake's refusals as problems."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from banktwin.api.ingest import batch_receipt, receipt
from banktwin.api.problems import field_errors, invalid, malformed_json, version_conflict
from banktwin.api.schemas import BatchReceiptPublic, VersionConflictProblemPublic
from banktwin.errors import VersionConflictError
from banktwin.intake import FieldError, IntakeError
from banktwin.log.port import AppendResult

AT = datetime(2025, 9, 15, 14, 0, tzinfo=UTC)


def test_a_batch_receipt_is_the_documented_shape() -> None:
    results = [
        AppendResult("0198ae07-dadb-79a7-8c6c-09c24f10052d", 1, 41, AT),
        AppendResult("0198ae07-fca1-76e3-a935-c3a33fdaac2c", 0, 7, AT, duplicate=True),
    ]
    body = orjson.loads(batch_receipt(results))
    assert body == {
        "accepted": 1,
        "duplicates": 1,
        "events": [receipt(r) for r in results],
    }
    BatchReceiptPublic.model_validate(body)


def test_an_intake_refusal_reads_as_it_always_has() -> None:
    errors = [FieldError("[2].payload.channel", "Input should be 'mobile'"), FieldError("x", "y")]
    problem = invalid(errors, "batch (3 events, none logged)")
    assert problem.detail == str(IntakeError(errors, "batch (3 events, none logged)"))
    assert problem.detail == (
        "invalid batch (3 events, none logged): [2].payload.channel: Input should be 'mobile' "
        "(and 1 more)"
    )
    assert problem.body()["errors"][0] == {
        "field": "[2].payload.channel",
        "message": "Input should be 'mobile'",
    }
    assert (problem.type, problem.title) == ("/problems/validation-error", "Invalid input")


def test_malformed_json_keeps_its_type_and_title() -> None:
    body = malformed_json("the body is not valid JSON: Expecting value").body()
    assert (body["type"], body["title"], body["status"]) == (
        "/problems/malformed-json",
        "Malformed JSON",
        400,
    )


def test_a_version_conflict_is_a_409_with_its_extension_members() -> None:
    problem = version_conflict(VersionConflictError("c1", expected=3, actual=5))
    body = problem.body("/v1/customers/c1/events")
    VersionConflictProblemPublic.model_validate(body)
    assert problem.status == 409 and body["type"] == "/problems/version-conflict"
    assert (body["subjectId"], body["expectedVersion"], body["actualVersion"]) == ("c1", 3, 5)
    assert "subject c1 is at version 5, not the expected 3" in body["detail"]
    assert "read the subject again, decide again" in body["detail"]


def test_request_parameter_errors_drop_fastapi_s_location_parts() -> None:
    errors = [{"loc": ("path", "customerId"), "msg": "Input should be a valid UUID"}]
    assert field_errors(errors) == [FieldError("customerId", "Input should be a valid UUID")]
