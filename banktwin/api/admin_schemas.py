"""Schemas of ``/v1/admin``: the retraining request and the background job it starts."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StrictBool
from pydantic import BaseModel as PydanticModel
from pydantic.json_schema import WithJsonSchema

from banktwin.api.schemas import Public

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: object) -> object:
    """Only RFC 3339 text: pydantic alone would also take a number (seconds since 1970)."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("give an ISO 8601 time with its offset, e.g. 2026-03-01T00:00:00Z")
    return value


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range in UTC") from None


UtcTime = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_in_utc)]
ParameterValues = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "type": "object",
            "additionalProperties": {
                "anyOf": [
                    {"type": "integer"},
                    {"type": "number"},
                    {"type": "string"},
                    {"type": "boolean"},
                ]
            },
            "description": "The algorithm's parameters, each checked against what it takes "
            "(`FraudScore`: `seed`, an integer from 0 to 2147483647, for both algorithms). "
            "Unknown names are refused.",
            "examples": [{"seed": 7}],
        }
    ),
]


class TrainingWindowIn(Public):
    """The history to learn from; either end may be left out."""

    start: UtcTime | None = Field(
        None,
        description="Learn from what occurred at or after this time (default: the log's "
        "beginning).",
    )
    end: UtcTime | None = Field(
        None,
        description="Learn from what was known by this time, labels included (default: the "
        "log's end); after `start`. The last label delay before it is left out, as always.",
    )


class RetrainRequestIn(Public):
    """A model to retrain, how, and on which history."""

    model_name: str = Field(
        min_length=1,
        max_length=100,
        examples=["FraudScore"],
        description="The registered model to retrain; one with a trainer here (`FraudScore`).",
    )
    algorithm: str | None = Field(
        None,
        min_length=1,
        max_length=50,
        examples=["lightgbm"],
        description="For `FraudScore`: `lightgbm` (the default) or `logistic`.",
    )
    parameters: ParameterValues = Field(default_factory=dict)
    training_window: TrainingWindowIn | None = None
    promote_if_better: StrictBool = Field(
        False,
        description="Make the new version champion if, on history neither model learned "
        "from, it does at least as well as the champion; otherwise it is registered as "
        "`challenger` only (the champion is set as well when there is none yet).",
    )


def _inlined(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inlined(defs[ref.removeprefix("#/$defs/")], defs)
        return {key: _inlined(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inlined(value, defs) for value in node]
    return node


def body_schema(model: type[PydanticModel]) -> dict[str, Any]:
    """``model``'s JSON schema with its nested models written in place (for a request body
    documented by hand: the handler reads the body itself)."""
    schema = model.model_json_schema(by_alias=True)
    defs = schema.pop("$defs", {})
    inlined: dict[str, Any] = _inlined(schema, defs)
    return inlined


# --- the job -------------------------------------------------------------------------------


class TrainingWindowPublic(Public):
    start: datetime | None
    end: datetime | None


class RetrainConfigPublic(Public):
    """What the job trains, as checked when it was asked for."""

    algorithm: str = Field(examples=["lightgbm"])
    parameters: dict[str, int | float | str | bool]
    training_window: TrainingWindowPublic
    promote_if_better: bool


class JobProgressPublic(Public):
    fraction: float = Field(ge=0, le=1, description="Done so far, from 0 to 1.")
    message: str = Field(examples=["folding the log's history: 120,000 of 480,000 events"])


class JobResultPublic(Public):
    """The version a succeeded job registered."""

    version: int = Field(examples=[4], description="The new version of the model.")
    champion: bool = Field(description="Whether it is the champion (serves) now.")
    metrics: dict[str, float] = Field(
        examples=[{"validation_average_precision": 0.71, "validation_roc_auc": 0.97}],
        description="Measured at training time, on history it did not learn from.",
    )
    trained_from: datetime = Field(description="The first row it learned from.")
    trained_until: datetime = Field(description="The end of the rows it learned from.")
    note: str = Field(description="What was registered and promoted, and why.")


class JobPublic(Public):
    """A background job: retraining a model."""

    job_id: str = Field(examples=["0b8f5d0e-2f1c-4b7e-9a55-3c1d2e4f5a6b"])
    kind: Literal["retrain"]
    model_name: str = Field(examples=["FraudScore"])
    config: RetrainConfigPublic
    status: Literal["queued", "running", "succeeded", "failed"]
    progress: JobProgressPublic
    requested_by: str = Field(
        description="The API client whose token asked for it, or `scheduler` (the nightly "
        "schedule)."
    )
    created_at: datetime
    started_at: datetime | None = Field(description="When its latest attempt started.")
    finished_at: datetime | None
    heartbeat_at: datetime | None = Field(
        description="When its runner last reported, every second while it runs."
    )
    attempts: int = Field(
        ge=0, description="Runs started: a run interrupted by a restart is tried once more."
    )
    runner: str | None = Field(description="The process running it (`host:pid:id`).")
    result: JobResultPublic | None
    error: str | None = Field(description="Why it failed.")
