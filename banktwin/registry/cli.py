"""``banktwin models``: the registered models' versions, and which one serves.

``list`` shows every version with its aliases and key metrics; ``promote`` makes a version the
champion (the old one becomes ``previous``); ``rollback`` returns to ``previous``. Works for
any registered model: ``RiskScore``, ``FraudScore``. Errors name the option and exit 2.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from banktwin.errors import BanktwinError, NotFoundError
from banktwin.registry.port import FRAUD_MODEL, RISK_MODEL, check_model_name

if TYPE_CHECKING:
    from banktwin.config import Settings
    from banktwin.registry.port import ModelRegistry, RegisteredVersion

models_app = typer.Typer(
    help="The model registry: list versions, promote one to champion, roll back.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Where embedded data lives [BANKTWIN_DATA_DIR].")
]
KNOWN_MODELS = (RISK_MODEL, FRAUD_MODEL)

ROC_AUC_KEYS = (
    ("holdout_roc_auc", "holdout"),
    ("cv_roc_auc_mean", "CV"),
    ("validation_roc_auc", "validation"),
)
AP_KEYS = (
    ("holdout_average_precision", "holdout"),
    ("cv_average_precision", "CV"),
    ("validation_average_precision", "validation"),
)
"""Where a version's ROC AUC and average precision are found, best evidence first: a risk
version's holdout (else cross-validation), a fraud version's out-of-time validation."""


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True, highlight=False)
    return typer.Exit(2)


def _settings(data_dir: Path | None) -> Settings:
    from banktwin.config import load_settings

    try:
        return load_settings(data_dir=data_dir)
    except BanktwinError as exc:
        raise _fail(str(exc)) from None


def _name(name: str) -> str:
    try:
        return check_model_name(name)
    except ValueError as exc:
        raise _fail(f"--name: {exc}") from None


def _open(settings: Settings) -> ModelRegistry:
    from banktwin.registry import open_model_registry

    try:
        return open_model_registry(settings)
    except BanktwinError as exc:
        raise _fail(str(exc)) from None


@models_app.callback()
def models() -> None:
    """The registered models and their aliases."""


@models_app.command("list")
def list_versions(
    name: Annotated[
        str | None,
        typer.Option("--name", help=f"The model (default: {' and '.join(KNOWN_MODELS)})."),
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """List the versions: aliases, kind, ROC AUC and average precision (AP) with where they
    were measured, training rows, when registered."""
    from banktwin.registry import registry_exists

    names = (_name(name),) if name is not None else KNOWN_MODELS
    settings = _settings(data_dir)
    if not registry_exists(settings):
        console.print(f"no model registered yet (no registry at {settings.model_registry_uri})")
        return
    registry = _open(settings)
    try:
        listed = [(n, registry.versions(n)) for n in names]
    except BanktwinError as exc:
        raise _fail(str(exc)) from None
    finally:
        registry.close()
    for model, versions in listed:
        if not versions:
            console.print(f"{model}: no version yet", highlight=False)
            continue
        console.print(_table(model, versions))


def _metric(metrics: dict[str, float], keys: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    """The first of ``keys`` the metrics hold, formatted, and where it was measured."""
    for key, where in keys:
        value = metrics.get(key)
        if value is not None and not math.isnan(value):
            return f"{value:.4f}", where
    return "—", ""


def _table(name: str, versions: list[RegisteredVersion]) -> Table:
    table = Table(title=name)
    table.add_column("version", justify="right", no_wrap=True)
    table.add_column("aliases")
    table.add_column("kind")
    table.add_column("ROC AUC", justify="right", no_wrap=True)
    table.add_column("AP", justify="right", no_wrap=True)
    table.add_column("measured on")
    table.add_column("rows", justify="right", no_wrap=True)
    table.add_column("registered")
    for v in versions:
        metrics = v.card.metrics
        rows = metrics.get("train_rows")
        auc, where = _metric(metrics, ROC_AUC_KEYS)
        table.add_row(
            str(v.version),
            ", ".join(v.aliases),
            v.card.flavor,
            auc,
            _metric(metrics, AP_KEYS)[0],
            where,
            f"{rows:,.0f}" if rows is not None else "—",
            f"{v.created_at:%Y-%m-%d %H:%M}",
        )
    return table


@models_app.command("promote")
def promote(
    name: Annotated[str, typer.Option("--name", help="The model, e.g. RiskScore.")],
    version: Annotated[int, typer.Option("--version", min=1, help="The version to serve.")],
    data_dir: DataDirOpt = None,
) -> None:
    """Make VERSION the champion (serving picks it up without a restart); the old champion
    becomes `previous`, where `rollback` returns."""
    from banktwin.registry import registry_exists
    from banktwin.risk.promotion import PREVIOUS, promote_version

    model = _name(name)
    settings = _settings(data_dir)
    if not registry_exists(settings):
        raise _fail(
            f"--name: no model registered yet (no registry at {settings.model_registry_uri})"
        )
    registry = _open(settings)
    try:
        moved = promote_version(registry, model, version)
    except NotFoundError as exc:
        raise _fail(f"--version: {exc}") from None
    except BanktwinError as exc:
        raise _fail(str(exc)) from None
    finally:
        registry.close()
    if not moved.changed:
        console.print(f"{model}@champion is version {version} already", highlight=False)
        return
    was = f" (was {moved.before}; {PREVIOUS} now points at it)" if moved.before else ""
    console.print(f"{model}@champion is now version {version}{was}", highlight=False)


@models_app.command("rollback")
def rollback(
    name: Annotated[str, typer.Option("--name", help="The model, e.g. RiskScore.")],
    data_dir: DataDirOpt = None,
) -> None:
    """Point champion back at the previous champion (a second rollback undoes the first)."""
    from banktwin.registry import registry_exists
    from banktwin.risk.promotion import roll_back

    model = _name(name)
    settings = _settings(data_dir)
    if not registry_exists(settings):
        raise _fail(
            f"--name: no model registered yet (no registry at {settings.model_registry_uri})"
        )
    registry = _open(settings)
    try:
        moved = roll_back(registry, model)
    except NotFoundError as exc:
        raise _fail(f"--name: {exc}") from None
    except BanktwinError as exc:
        raise _fail(str(exc)) from None
    finally:
        registry.close()
    console.print(
        f"{model}@champion is back to version {moved.champion} (from {moved.before})",
        highlight=False,
    )
