"""What ``banktwin train risk`` reports: the results tables, the ``--json`` document and the
``--oof`` file of every row's out-of-sample probability."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from banktwin.risk.release import RiskRelease
from banktwin.risk.tabular import LabelledTable
from banktwin.risk.training import RiskTrainingResult


def _shown(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.4f}"


def print_report(
    console: Console,
    data: Path | str,
    labelled: LabelledTable,
    trained: RiskTrainingResult,
    release: RiskRelease | None,
    mask: np.ndarray,
    seconds: float,
) -> None:
    """The results table, the calibration table and the release decision, on ``console``."""
    m = trained.metrics
    source = data.name if isinstance(data, Path) else data
    table = Table(
        title=f"risk model on {source}: {m['train_rows']:,.0f} training rows "
        f"({m['train_positives']:,.0f} positive), {trained.params['folds']}-fold CV"
    )
    for column in ("candidate", "ROC AUC mean ± std", "ROC AUC pooled", "avg precision", "Brier"):
        table.add_column(column, justify="left" if column == "candidate" else "right")
    for kind, c in trained.candidates.items():
        name = f"[bold]{kind}[/] (chosen)" if kind == trained.kind else kind
        table.add_row(
            name,
            f"{c.roc_auc_mean:.4f} ± {c.roc_auc_std:.4f}",
            _shown(c.metrics["roc_auc"]),
            _shown(c.metrics["average_precision"]),
            _shown(c.metrics["brier"]),
        )
    if release is not None and release.challenger_figures:
        h = release.challenger_figures
        table.add_row(
            f"{trained.kind} on the holdout",
            "",
            _shown(h["roc_auc"]),
            _shown(h["average_precision"]),
            _shown(h["brier"]),
        )
    console.print(table)
    bins = Table(title="calibration (out of fold, deciles of the probability)")
    for column in ("probability", "rows", "predicted", "observed"):
        bins.add_column(column, justify="right")
    for b in trained.calibration:
        bins.add_row(
            f"{b.low:.3f}-{b.high:.3f}", f"{b.rows:,}", f"{b.predicted:.3f}", f"{b.observed:.3f}"
        )
    console.print(bins)
    console.print(
        f"Brier {m['cv_brier']:.4f} calibrated (Platt), {m['cv_brier_uncalibrated']:.4f} before; "
        f"{int(mask.sum()):,} rows held out; {seconds:.1f} s",
        highlight=False,
    )
    if trained.schema.ignored:
        console.print(
            "left out: " + "; ".join(f"{n} ({r})" for n, r in trained.schema.ignored),
            highlight=False,
        )
    if labelled.unlabelled:
        console.print(
            f"{labelled.unlabelled:,} rows without a label were left out", highlight=False
        )
    if release is not None:
        v = release.version
        role = "champion" if release.champion else "challenger"
        console.print(
            f"registered {v.name} version {v.version} as {role}: {release.reason}", highlight=False
        )


def report_document(
    data: Path | str,
    label: str,
    labelled: LabelledTable,
    trained: RiskTrainingResult,
    release: RiskRelease | None,
    mask: np.ndarray,
    seconds: float,
) -> dict[str, Any]:
    """Every figure of the run as JSON-ready data (what ``--json`` writes)."""
    from banktwin.risk.evaluation import table_as_dicts

    return {
        "data": str(data),
        "label": label,
        "positive": labelled.positive,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": len(labelled.ids),
        "unlabelled_rows": labelled.unlabelled,
        "holdout_rows": int(mask.sum()),
        "chosen": trained.kind,
        "metrics": trained.metrics,
        "candidates": {
            kind: {
                "roc_auc_mean": c.roc_auc_mean,
                "roc_auc_std": c.roc_auc_std,
                "fold_roc_auc": list(c.fold_roc_auc),
                **c.metrics,
                "chosen_per_fold": list(c.chosen),
                "seconds": round(c.seconds, 3),
            }
            for kind, c in trained.candidates.items()
        },
        "calibration": table_as_dicts(trained.calibration),
        "params": trained.params,
        "features": [
            {"name": f.name, "kind": f.kind, "monotone": f.monotone}
            for f in trained.schema.features
        ],
        "ignored_columns": dict(trained.schema.ignored),
        "data_hash": trained.data_hash,
        "seconds": round(seconds, 3),
        "release": None
        if release is None
        else {
            "name": release.version.name,
            "version": release.version.version,
            "champion": release.champion,
            "reason": release.reason,
            "holdout": release.challenger_figures,
            "champion_holdout": release.champion_figures,
            "previous_champion": release.previous_champion,
        },
    }


def write_out_of_fold(
    path: Path, trained: RiskTrainingResult, labelled: LabelledTable, mask: np.ndarray
) -> None:
    """Write ``id,fold,label,probability``: training rows with their fold (1…k) and out-of-fold
    probability, then holdout rows (fold 0) with the final model's probability."""
    oof = trained.oof
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "fold", "label", "probability"])
        for row_id, fold, y, p in zip(
            oof.ids,
            oof.folds.tolist(),
            oof.labels.tolist(),
            oof.probabilities.tolist(),
            strict=True,
        ):
            writer.writerow([row_id, fold, int(y), repr(p)])
        if mask.any():
            held = labelled.features.loc[mask].reset_index(drop=True)
            scores = trained.model.predict(held).tolist()
            held_ids = [i for i, m in zip(labelled.ids, mask, strict=True) if m]
            for row_id, y, p in zip(held_ids, labelled.labels[mask].tolist(), scores, strict=True):
                writer.writerow([row_id, 0, int(y), repr(p)])
