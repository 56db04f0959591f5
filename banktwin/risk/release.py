"""Releasing a trained risk model: a new ``RiskScore`` version, champion only if it is better.

The rule: a new version becomes ``champion`` when there is none yet, when asked to
(``force``), or when it **beats the champion on the same holdout**: the holdout rows (which
neither learnt from: :mod:`banktwin.risk.holdout`) are scored by both, and the new version
must have a higher ROC AUC and an average precision at least the champion's. Otherwise it
becomes ``challenger`` for a person to judge. A promotion points ``previous`` at the old
champion, so ``banktwin models rollback`` can go back (:mod:`banktwin.risk.promotion`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from banktwin.registry.port import (
    CHALLENGER,
    CHAMPION,
    RISK_MODEL,
    ModelCard,
    ModelRegistry,
    RegisteredVersion,
)
from banktwin.risk.evaluation import score_metrics
from banktwin.risk.model import RiskModel
from banktwin.risk.model_card import render_model_card
from banktwin.risk.promotion import promote_version
from banktwin.risk.training import RiskTrainingResult

HOLDOUT_FIGURES = ("roc_auc", "average_precision", "brier", "log_loss", "rows", "positives")


@dataclass(frozen=True)
class RiskRelease:
    """What :func:`release_risk_model` registered and decided."""

    version: RegisteredVersion
    """The new version, as registered."""
    champion: bool
    """Whether it is the champion now."""
    reason: str
    """Why it is or is not, with the figures compared."""
    challenger_figures: dict[str, float] = field(default_factory=dict)
    """The new version on the holdout (empty without one)."""
    champion_figures: dict[str, float] = field(default_factory=dict)
    """The champion before, on the same holdout (empty when not compared)."""
    previous_champion: int | None = None
    """The version that served before (``None``: there was none)."""


def holdout_figures(model: RiskModel, table: pd.DataFrame, labels: np.ndarray) -> dict[str, float]:
    """ROC AUC, average precision, Brier score, log-loss, rows and positives of ``model`` on a
    labelled table."""
    return score_metrics(np.asarray(labels, dtype=bool), model.predict(table))


def _comparable(labels: np.ndarray) -> bool:
    y = np.asarray(labels, dtype=bool)
    return bool(y.any() and not y.all())


def release_risk_model(
    registry: ModelRegistry,
    result: RiskTrainingResult,
    *,
    holdout: tuple[pd.DataFrame, np.ndarray] | None = None,
    force: bool = False,
) -> RiskRelease:
    """Register ``result`` as a new ``RiskScore`` version and decide whether it serves.

    Args:
        registry: where to register (:func:`~banktwin.registry.open_model_registry`).
        result: :func:`~banktwin.risk.training.train_risk_model`'s result, trained without the
            holdout rows.
        holdout: ``(table, labels)`` of the rows kept out of training; both classes must occur
            for a comparison. ``None``: no comparison (a champion stays, unless ``force``).
        force: make it champion whatever the comparison says.

    Returns:
        The version, whether it became champion and why, and the figures compared. Its card
        holds the training parameters and metrics (``holdout_*`` included), the features, the
        window, the data hash, and the rendered model card as its description.

    Raises:
        UnavailableError: the registry cannot be reached or refused the write.
    """
    model = result.model
    figures: dict[str, float] = {}
    if holdout is not None and _comparable(holdout[1]):
        figures = holdout_figures(model, *holdout)
    before = registry.version_for(RISK_MODEL, CHAMPION)
    champion_figures: dict[str, float] = {}
    if before is None:
        promote, reason = True, "no champion yet"
    elif force:
        promote, reason = True, f"--force (version {before.version} was champion)"
    elif holdout is None or not figures:
        promote, reason = False, "no holdout with both classes to compare on"
    else:
        promote, reason, champion_figures = _compare(registry, before, holdout, figures)
    decision = ("champion: " if promote else "challenger: ") + reason
    card = ModelCard(
        name=RISK_MODEL,
        flavor=model.kind,
        params=result.params,
        metrics=result.metrics | {f"holdout_{k}": v for k, v in figures.items()},
        feature_names=model.feature_names,
        training_window=_aware(result.window),
        data_hash=result.data_hash,
        description=render_model_card(result, figures or None, decision),
    )
    version = registry.register(card, model.to_bytes())
    if promote:
        promote_version(registry, RISK_MODEL, version.version)
    else:
        registry.set_alias(RISK_MODEL, CHALLENGER, version.version)
    return RiskRelease(
        version=version,
        champion=promote,
        reason=reason,
        challenger_figures=figures,
        champion_figures=champion_figures,
        previous_champion=before.version if before is not None else None,
    )


def _compare(
    registry: ModelRegistry,
    champion: RegisteredVersion,
    holdout: tuple[pd.DataFrame, np.ndarray],
    figures: dict[str, float],
) -> tuple[bool, str, dict[str, float]]:
    """Whether the new version beats ``champion`` on the holdout, why, and the champion's
    figures."""
    try:
        incumbent = RiskModel.from_bytes(registry.load(RISK_MODEL, champion.version))
        theirs = holdout_figures(incumbent, *holdout)
    except ValueError as exc:
        return (
            False,
            f"the champion (version {champion.version}) cannot be scored on this holdout "
            f"({exc}); judge by hand, or --force",
            {},
        )
    wins = (
        figures["roc_auc"] > theirs["roc_auc"]
        and figures["average_precision"] >= theirs["average_precision"]
    )
    verdict = "beats" if wins else "does not beat"
    reason = (
        f"{verdict} version {champion.version} on {figures['rows']:,.0f} holdout rows: ROC AUC "
        f"{figures['roc_auc']:.4f} against {theirs['roc_auc']:.4f}, average precision "
        f"{figures['average_precision']:.4f} against {theirs['average_precision']:.4f}"
    )
    return wins, reason, theirs


def _aware(window: tuple[datetime, datetime]) -> tuple[datetime, datetime]:
    """The window with UTC on a naive end (the registry wants timezone-aware times)."""
    start, end = window
    return (
        start if start.tzinfo is not None else start.replace(tzinfo=UTC),
        end if end.tzinfo is not None else end.replace(tzinfo=UTC),
    )
