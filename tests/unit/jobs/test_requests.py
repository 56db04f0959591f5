"""A retraining request checked against the trainers here: each bad field named, parameters
typed and bounded per algorithm, the training window's end after its start."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from banktwin.config import Settings
from banktwin.jobs.lifecycle import TrainingConfig
from banktwin.jobs.requests import InvalidJobRequest, training_config
from banktwin.jobs.trainer import Parameter, Trainer
from banktwin.jobs.trainers import model_trainers
from banktwin.log.memory import InMemoryEventLog
from tests.unit.jobs.fakes import FakeTrainer

TRAINERS: dict[str, Trainer] = {"Fake": FakeTrainer()}
START = datetime(2026, 1, 1, tzinfo=UTC)


def errors_of(**request: object) -> dict[str, str]:
    with pytest.raises(InvalidJobRequest) as refused:
        training_config(TRAINERS, **request)  # type: ignore[arg-type]
    return {e.field: e.message for e in refused.value.errors}


def test_a_good_request_gives_its_config_with_the_default_algorithm() -> None:
    config = training_config(TRAINERS, model_name="Fake", parameters={"seed": Decimal("3.0")})
    assert config == TrainingConfig("Fake", "fast", {"seed": 3})
    assert isinstance(config.parameters["seed"], int)
    slow = training_config(
        TRAINERS,
        model_name="Fake",
        algorithm="slow",
        parameters={"rate": Decimal("0.25"), "deep": True},
        window_start=START,
        window_end=START.replace(month=2),
        promote_if_better=True,
    )
    assert slow.parameters == {"rate": 0.25, "deep": True} and slow.promote_if_better


def test_each_bad_field_is_named() -> None:
    assert errors_of(model_name="RiskScore") == {
        "modelName": "no trainer for 'RiskScore'; the models that can be retrained here: Fake"
    }
    assert errors_of(model_name="Fake", algorithm="xgboost") == {
        "algorithm": "Fake has no algorithm 'xgboost'; use fast or slow"
    }
    assert errors_of(model_name="Fake", parameters={"rate": 1, "seed": "7"}) == {
        "parameters.rate": "fast takes no parameter 'rate'; it takes seed",
        "parameters.seed": "give an integer",
    }
    assert errors_of(model_name="Fake", window_start=START, window_end=START) == {
        "trainingWindow.end": "must be after trainingWindow.start (2026-01-01T00:00:00+00:00)"
    }


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (True, "give an integer"),
        (None, "give an integer"),
        ([1], "give an integer"),
        (Decimal("1.5"), "give an integer"),
        (float("nan"), "give a finite number"),
        (Decimal("1E+400"), "must be at most 10"),
        (-1, "must be at least 0"),
    ],
)
def test_an_integer_parameter_refuses_what_is_not_one_in_its_bounds(
    value: object, problem: str
) -> None:
    assert Parameter("integer", "", minimum=0, maximum=10).problem(value) == problem


@given(st.one_of(st.integers(), st.decimals(allow_nan=True), st.booleans(), st.text()))
def test_a_number_parameter_accepts_exactly_the_finite_numbers_in_its_bounds(
    value: object,
) -> None:
    parameter = Parameter("number", "", minimum=0, maximum=1)
    accepted = parameter.problem(value) is None
    numeric = isinstance(value, int | Decimal) and not isinstance(value, bool)
    assert accepted == (numeric and Decimal(value).is_finite() and 0 <= Decimal(value) <= 1)  # type: ignore[arg-type]
    if accepted:
        kept = parameter.value(value)  # type: ignore[arg-type]
        assert isinstance(kept, float) and 0.0 <= kept <= 1.0


def test_the_deployment_table_has_the_fraud_and_risk_models_with_their_kinds() -> None:
    trainers = model_trainers(Settings(retrain_schedule="off"), InMemoryEventLog(1))
    assert list(trainers) == ["FraudScore", "RiskScore"]
    assert list(trainers["FraudScore"].algorithms) == ["lightgbm", "logistic"]
    assert list(trainers["RiskScore"].algorithms) == ["auto", "logistic", "lightgbm"]
    risk = training_config(trainers, model_name="RiskScore", parameters={"horizonDays": 7})
    assert risk.algorithm == "auto" and risk.parameters["horizonDays"] == 7.0
    config = training_config(trainers, model_name="FraudScore", parameters={"seed": 9})
    assert config.algorithm == "lightgbm"
    assert errors_of_table(trainers, {"learningRate": Decimal("0.1")}) == {
        "parameters.learningRate": "lightgbm takes no parameter 'learningRate'; it takes seed"
    }


def errors_of_table(trainers: dict[str, Trainer], parameters: dict[str, object]) -> dict[str, str]:
    with pytest.raises(InvalidJobRequest) as refused:
        training_config(trainers, model_name="FraudScore", parameters=parameters)
    return {e.field: e.message for e in refused.value.errors}
