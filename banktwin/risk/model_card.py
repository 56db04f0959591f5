"""The model card of a risk-model version: what it is, what it learnt from, how good it is.

Rendered as Markdown into the registered version's description (``ModelCard.description``:
the MLflow UI shows it on the version's page), so a reviewer reads it where they promote.
Kept under :data:`MAX_CHARS` (MLflow's description column holds 5,000). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from banktwin.risk.training import RiskTrainingResult

MAX_CHARS: Final = 5000
MAX_FEATURES_LISTED: Final = 40
"""The card lists this many features (all are in the version's feature list)."""


def _f(value: float) -> str:
    return f"{value:.4f}"


def render_model_card(
    result: RiskTrainingResult,
    holdout: Mapping[str, float] | None = None,
    decision: str = "",
) -> str:
    """The Markdown card of ``result`` (with its holdout figures and the promotion decision,
    when known)."""
    m = result.metrics
    start, end = result.window
    lines = [
        f"# RiskScore — {result.kind}",
        "",
        "Calibrated probability (Platt scaling on out-of-fold scores) that a customer has a "
        "loss event within the label's horizon. Explanations: per-feature contributions to the "
        "log-odds.",
        "",
        "## Data",
        f"- rows {m['train_rows']:,.0f}, positives {m['train_positives']:,.0f} "
        f"({m['train_positives'] / m['train_rows']:.1%})",
        f"- window {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
        if result.params.get("window") == "given"
        else f"- window not given (trained {start:%Y-%m-%d %H:%M} UTC)",
        f"- data hash `{result.data_hash[:16]}…`",
        f"- features ({len(result.schema.features)}): "
        + ", ".join(
            f"{f.name} ({f.kind[:3]}{f' {f.monotone:+d}' if f.monotone else ''})"
            for f in result.schema.features[:MAX_FEATURES_LISTED]
        )
        + (" …" if len(result.schema.features) > MAX_FEATURES_LISTED else ""),
    ]
    if result.schema.ignored:
        lines.append("- left out: " + "; ".join(f"{n} ({r})" for n, r in result.schema.ignored))
    lines += [
        "",
        f"## Candidates ({result.params['folds']}-fold stratified cross-validation)",
        "| candidate | ROC AUC mean ± std | average precision | Brier |",
        "|---|---|---|---|",
    ]
    for kind, c in result.candidates.items():
        chosen = " (chosen)" if kind == result.kind else ""
        lines.append(
            f"| {kind}{chosen} | {_f(c.roc_auc_mean)} ± {_f(c.roc_auc_std)} | "
            f"{_f(c.metrics['average_precision'])} | {_f(c.metrics['brier'])} |"
        )
    if holdout:
        lines += [
            "",
            "## Holdout",
            f"ROC AUC {_f(holdout['roc_auc'])}, average precision "
            f"{_f(holdout['average_precision'])}, Brier {_f(holdout['brier'])} on "
            f"{holdout['rows']:,.0f} rows ({holdout['positives']:,.0f} positives).",
        ]
    if decision:
        lines += ["", "## Release", decision]
    lines += [
        "",
        "## Calibration (out of fold, deciles)",
        "| probability | rows | predicted | observed |",
        "|---|---|---|---|",
    ]
    for b in result.calibration:
        lines.append(
            f"| {b.low:.3f}-{b.high:.3f} | {b.rows:,} | {b.predicted:.3f} | {b.observed:.3f} |"
        )
    lines += [
        "",
        "## Limits",
        "Measured on the rows above only: a portfolio, product or period unlike them needs its "
        "own validation. Watch drift (the artifact keeps the training distribution).",
    ]
    text = "\n".join(lines)
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS - 40].rsplit("\n", 1)[0] + "\n\n(card cut to fit the registry)"
    return text
