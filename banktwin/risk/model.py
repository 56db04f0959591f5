"""The risk model: calibrated probabilities of a loss event, their explanation, and its bytes.

A :class:`RiskModel` is a fitted candidate (:mod:`banktwin.risk.candidates`: its encoding of
the table and its logistic regression or trees), the Platt calibration on top
(:mod:`banktwin.risk.calibration`) and the reference of the training distribution
(:mod:`banktwin.risk.reference`). It reads rows by column name, so a table with more columns,
in any order, scores the same.

Bytes without pickle: a first line of JSON (format, kind, features, encoding, coefficients,
calibration, reference), then, for the trees, LightGBM's own text model. Safe to load from a
registry. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from banktwin.risk.calibration import PlattScaling, sigmoid
from banktwin.risk.candidates import LIGHTGBM, Scorer, load_scorer
from banktwin.risk.columns import Table, feature_columns
from banktwin.risk.reference import ModelReference
from banktwin.risk.schema import FeatureSpec

FORMAT: Final = "banktwin-risk-model"
FORMAT_VERSION: Final = 1


class RiskModel:
    """A trained, calibrated risk model.

    Attributes:
        kind: ``logistic`` or ``lightgbm``: the candidate chosen.
        feature_names: the columns it reads, in order.
        features: the same with their kind (numeric, categorical) and monotone constraint.
    """

    def __init__(
        self, scorer: Scorer, calibration: PlattScaling, reference: ModelReference
    ) -> None:
        self._scorer = scorer
        self.calibration = calibration
        self._reference = reference
        self.kind: str = scorer.kind
        self.features: tuple[FeatureSpec, ...] = tuple(scorer.features)
        self.feature_names: tuple[str, ...] = tuple(f.name for f in self.features)

    def __repr__(self) -> str:
        return f"RiskModel(kind={self.kind!r}, features={len(self.features)})"

    @property
    def reference(self) -> ModelReference:
        """The training distribution of each feature and of the score (for drift, PSI)."""
        return self._reference

    @property
    def scorer(self) -> Scorer:
        """The uncalibrated candidate inside."""
        return self._scorer

    def log_odds(self, table: Table) -> np.ndarray:
        """The calibrated log-odds of each row of ``table`` (see :meth:`predict`)."""
        columns = feature_columns(table, self.features)
        return self.calibration.log_odds(self._scorer.log_odds(columns))

    def predict(self, table: Table) -> np.ndarray:
        """The calibrated probability of the loss event for each row.

        Args:
            table: a DataFrame, or a mapping of column -> values (a sequence, or a scalar for
                a single row). Columns are found by name; others are ignored. Missing values
                (None, NaN) are allowed; a category never seen in training is read as a rare
                one.

        Returns:
            ``(rows,)`` float64 in [0, 1].

        Raises:
            ValueError: a feature's column is absent, or a numeric one holds text; the message
                names the column.
        """
        return sigmoid(self.log_odds(table))

    def contributions(self, table: Table) -> np.ndarray:
        """Each feature's signed contribution to each row's calibrated log-odds.

        LightGBM's TreeSHAP values (``pred_contrib``) or, for the logistic model, coefficient
        times standardised value summed over the feature's encoded columns; either way times the
        calibration slope. The last column is the base value (the bias, calibrated), the same
        for every row; a row's values add up to its :meth:`log_odds`.

        Returns:
            ``(rows, features + 1)`` float64.
        """
        columns = feature_columns(table, self.features)
        raw = self._scorer.contributions(columns)
        scaled = raw * self.calibration.slope
        scaled[:, -1] += self.calibration.intercept
        return scaled

    def predict_with_contributions(self, table: Table) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict` and :meth:`contributions` in one pass over the rows (what scoring
        with an explanation needs): the probability is the sigmoid of the row's contributions
        summed, its calibrated log-odds (equal to :meth:`predict` to rounding)."""
        contributions = self.contributions(table)
        return sigmoid(contributions.sum(axis=1)), contributions

    def explain(self, table_one_row: Table, top: int = 3) -> list[tuple[str, float]]:
        """The features that moved one customer's score most, either way.

        Args:
            table_one_row: one row, as for :meth:`predict`.
            top: how many features at most.

        Returns:
            ``(feature, contribution to the log-odds)``, the largest ``|contribution|`` first;
            positive raises the risk. With :meth:`contributions`' base value, all of a row's
            contributions add up to its log-odds.

        Raises:
            ValueError: ``table_one_row`` is not exactly one row.
        """
        values = self.contributions(table_one_row)
        if values.shape[0] != 1:
            raise ValueError(f"explain takes one row, not {values.shape[0]}")
        features = values[0, :-1]
        order = np.argsort(-np.abs(features), kind="stable")[: max(0, top)]
        return [(self.feature_names[i], float(features[i])) for i in order]

    def to_bytes(self) -> bytes:
        """The model as bytes (see the module): loaded back by :meth:`from_bytes`."""
        dump = self._scorer.dump()
        booster = dump.pop("booster", "") if self.kind == LIGHTGBM else ""
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "kind": self.kind,
            "features": [
                {"name": f.name, "kind": f.kind, "monotone": f.monotone} for f in self.features
            ],
            "scorer": dump,
            "calibration": {
                "intercept": self.calibration.intercept,
                "slope": self.calibration.slope,
            },
            "reference": self._reference.to_json(),
        }
        return (json.dumps(header, separators=(",", ":")) + "\n" + booster).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> RiskModel:
        """A model from :meth:`to_bytes`.

        Raises:
            ValueError: the bytes are not a risk model of a supported version.
        """
        try:
            head, _, body = data.decode().partition("\n")
            header = json.loads(head)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a {FORMAT}: {exc}") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT}: the header names no such format")
        if header.get("version") != FORMAT_VERSION:
            raise ValueError(f"{FORMAT} version {header.get('version')} is not supported")
        try:
            features = _features(header["features"])
            dump: dict[str, Any] = dict(header["scorer"])
            kind = str(header["kind"])
            if kind == LIGHTGBM:
                dump["booster"] = body
            scorer = load_scorer(kind, features, dump)
            calibration = PlattScaling(**header["calibration"])
            reference = ModelReference.from_json(header["reference"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{FORMAT}: incomplete ({type(exc).__name__}: {exc})") from None
        return cls(scorer, calibration, reference)


def _features(data: Sequence[dict[str, Any]]) -> tuple[FeatureSpec, ...]:
    return tuple(FeatureSpec(str(f["name"]), f["kind"], int(f["monotone"])) for f in data)
