"""Checking a retraining request against the trainers this process has: every problem named by
its field on the wire (``modelName``, ``algorithm``, ``parameters.<name>``,
``trainingWindow.end``), before anything is queued."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from banktwin.intake.errors import FieldError
from banktwin.jobs.lifecycle import Scalar, TrainingConfig
from banktwin.jobs.trainer import Trainer


class InvalidJobRequest(ValueError):  # noqa: N818 - reads as what the request is
    """The request names what no trainer here can do; ``errors`` names each field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


def _listed(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def training_config(
    trainers: Mapping[str, Trainer],
    *,
    model_name: str,
    algorithm: str | None = None,
    parameters: Mapping[str, object] | None = None,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    promote_if_better: bool = False,
) -> TrainingConfig:
    """The job's configuration, if a trainer here takes it.

    Args:
        trainers: the trainers, by model name.
        model_name: the registered model to train.
        algorithm: one the model's trainer knows; ``None`` for its default (its first).
        parameters: the algorithm's parameters, as JSON values.
        window_start, window_end: timezone-aware; the end after the start.
        promote_if_better: see :class:`TrainingConfig`.

    Raises:
        InvalidJobRequest: naming every bad field.
    """
    errors: list[FieldError] = []
    if window_start is not None and window_end is not None and window_end <= window_start:
        errors.append(
            FieldError(
                "trainingWindow.end",
                f"must be after trainingWindow.start ({window_start.isoformat()})",
            )
        )
    trainer = trainers.get(model_name)
    if trainer is None:
        errors.insert(
            0,
            FieldError(
                "modelName",
                f"no trainer for {model_name!r}; the models that can be retrained here: "
                f"{_listed(trainers)}",
            ),
        )
        raise InvalidJobRequest(errors)
    known = trainer.algorithms
    chosen = algorithm if algorithm is not None else next(iter(known))
    accepted = known.get(chosen)
    if accepted is None:
        errors.append(
            FieldError(
                "algorithm",
                f"{model_name} has no algorithm {chosen!r}; use {' or '.join(known)}",
            )
        )
        raise InvalidJobRequest(errors)
    values: dict[str, Scalar] = {}
    for name, value in (parameters or {}).items():
        parameter = accepted.get(name)
        if parameter is None:
            errors.append(
                FieldError(
                    f"parameters.{name}",
                    f"{chosen} takes no parameter {name!r}; it takes {_listed(accepted)}",
                )
            )
        elif (problem := parameter.problem(value)) is not None:
            errors.append(FieldError(f"parameters.{name}", problem))
        else:
            values[name] = parameter.value(value)  # type: ignore[arg-type]
    if errors:
        raise InvalidJobRequest(errors)
    return TrainingConfig(model_name, chosen, values, window_start, window_end, promote_if_better)
