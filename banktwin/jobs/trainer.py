"""The trainer port: what a retraining job calls to train a model and register a version.

One trainer per registered model name (``FraudScore``, later ``RiskScore``), listed in one
table (:func:`banktwin.jobs.trainers.model_trainers`). A trainer declares the algorithms it
knows and, for each, the parameters it takes: requests are checked against that before a job
is queued (:mod:`banktwin.jobs.requests`), so a job never fails on a typo.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from banktwin.jobs.lifecycle import JobResult, Scalar, TrainingConfig

ReportProgress = Callable[[float, str], None]
"""Called by a trainer as it goes: the fraction done (0 to 1) and what it is doing. It raises
:class:`JobInterrupted` when the job must stop (its process is stopping): a trainer lets it
propagate."""


class JobInterrupted(Exception):  # noqa: N818 - what happened to the job, not an error of it
    """The job's run must end now (the process is stopping, or the job is no longer its)."""


@dataclass(frozen=True)
class Parameter:
    """One parameter an algorithm takes, its type and its bounds (inclusive)."""

    kind: Literal["integer", "number", "boolean", "string"]
    description: str
    minimum: float | None = None
    maximum: float | None = None

    def problem(self, value: object) -> str | None:
        """What is wrong with ``value`` (a JSON value: ``Decimal`` for a number with a
        fraction), or ``None`` if it is a valid value of this parameter."""
        if self.kind == "boolean":
            return None if isinstance(value, bool) else "give true or false"
        if self.kind == "string":
            return None if isinstance(value, str) else "give a string"
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            return f"give {'an integer' if self.kind == 'integer' else 'a number'}"
        number = Decimal(value)
        if not number.is_finite():
            return "give a finite number"
        if self.kind == "integer" and number != number.to_integral_value():
            return "give an integer"
        if self.minimum is not None and number < Decimal(self.minimum):
            return f"must be at least {_shown(self.minimum)}"
        if self.maximum is not None and number > Decimal(self.maximum):
            return f"must be at most {_shown(self.maximum)}"
        return None

    def value(self, given: Scalar | Decimal) -> Scalar:
        """A valid value (see :meth:`problem`) as it is kept: ``int`` for an integer, ``float``
        for a number."""
        if self.kind == "integer":
            return int(given)
        if self.kind == "number":
            return float(given)
        return given  # type: ignore[return-value]  # a bool or a str, checked


def _shown(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else repr(bound)


class Trainer(Protocol):
    """Trains one model on the log's history and registers the new version."""

    @property
    def algorithms(self) -> Mapping[str, Mapping[str, Parameter]]:
        """Per algorithm it knows (the first is the default), the parameters it takes."""
        ...

    def __call__(self, config: TrainingConfig, progress: ReportProgress) -> JobResult:
        """Train as ``config`` says and register the new version.

        Args:
            config: checked already against :attr:`algorithms`.
            progress: report what is being done; it raises :class:`JobInterrupted` when the
                job must stop.

        Returns:
            What was registered: the version, whether it is the champion now, its metrics.

        Raises:
            JobInterrupted: from ``progress``.
            Exception: anything else fails the job with its message (``NotEnoughHistory``,
                a registry that cannot be reached …).
        """
        ...


class TrainingFailed(Exception):  # noqa: N818 - the job's outcome
    """The trainer could not train, for a reason its message gives a person (not enough
    history, say): the job fails with that message, and nothing is logged as a bug."""
