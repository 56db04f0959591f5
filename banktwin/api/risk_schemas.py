"""Wire shapes of the risk model's what-if and drift endpoints."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from banktwin.api.schemas import Public, ScoreReasonPublic

OverrideValue = float | str | None


class WhatIfIn(Public):
    """Features to change before scoring, by name: a number replaces a numeric feature, a
    change like ``"-20%"`` moves it relatively, text sets a categorical one, ``null`` makes
    either unknown."""

    overrides: dict[str, OverrideValue] = Field(
        max_length=100,
        examples=[{"liquid_balance": "-20%", "bureau_score": 600}],
        description="Feature name -> new value or relative change.",
    )


class WhatIfChangePublic(Public):
    feature: str
    before: OverrideValue = Field(description="The value the customer's score was computed on.")
    after: OverrideValue = Field(description="The value scored here.")


class WhatIfPublic(Public):
    customer_id: str
    model_version: str = Field(examples=["RiskScore/3"])
    score: float = Field(ge=0, le=1, description="The score with the changes.")
    baseline_score: float = Field(ge=0, le=1, description="The customer's score now.")
    baseline_model_version: str
    scored_at: datetime = Field(description="When the customer's features were taken.")
    changes: list[WhatIfChangePublic]
    reasons: list[ScoreReasonPublic] = Field(
        description="The features that moved the new score most (log-odds contributions)."
    )


class DriftDayPublic(Public):
    day: date
    model_version: str
    rows: int = Field(description="Daily scores measured that day.")
    score_psi: float
    features: dict[str, float] = Field(description="Each feature's PSI.")
    worst_input: str = Field(description="`score` or the feature with the largest PSI.")
    worst_psi: float
    drifted: bool


class ModelDriftPublic(Public):
    model_name: str = Field(examples=["RiskScore"])
    model_version: str = Field(examples=["RiskScore/2"])
    threshold: float = Field(description="PSI above which a day has drifted (default 0.10).")
    latest: DriftDayPublic | None
    history: list[DriftDayPublic] = Field(description="The days measured, newest first.")
