"""The shape of a rule file, as pydantic models; rules.py compiles and checks the conditions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

Severity = Literal["low", "medium", "high", "critical"]
Action = Literal["alert", "review", "block"]
Mode = Literal["enabled", "disabled", "shadow"]

# Ascending: the outcome reports the highest severity and the strongest action of the hits.
SEVERITY_RANK: dict[Severity, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}
ACTION_RANK: dict[Action, int] = {"alert": 0, "review": 1, "block": 2}

Slug = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", min_length=1, max_length=64)
]


class RuleSpec(BaseModel):
    """One rule as written in the file."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: Slug
    description: str = ""
    when: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    score: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] | None = None
    action: Action | None = None
    reason: Slug
    severity: Severity
    mode: Mode = "enabled"

    @model_validator(mode="after")
    def _score_or_action(self) -> RuleSpec:
        if (self.score is None) == (self.action is None):
            raise ValueError("give exactly one of 'score' (a weight in [0, 1]) or 'action'")
        return self


class RuleFileSpec(BaseModel):
    """The top of the file; each entry of `rules` is validated as a RuleSpec on its own, so
    that one broken rule does not hide the problems of the others."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    version: int | str
    rules: list[object]

    @field_validator("version", mode="plain")
    @classmethod
    def _version(cls, value: object) -> int | str:
        if (type(value) is int and value >= 0) or (isinstance(value, str) and value.strip()):
            return value
        raise ValueError(f"must be a non-negative integer or a non-empty string, not {value!r}")
