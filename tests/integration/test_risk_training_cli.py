"""``banktwin train risk`` and ``banktwin models`` as a person runs them: subprocesses on a
labelled CSV and Parquet table, against a real local MLflow store in a temporary data
directory; the JSON and out-of-fold files recompute the figures printed."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from banktwin.config import Settings
from banktwin.fraud.metrics import average_precision, roc_auc
from banktwin.registry import CHALLENGER, CHAMPION, open_model_registry
from banktwin.registry.port import RISK_MODEL
from banktwin.risk.model import RiskModel
from banktwin.risk.promotion import PREVIOUS
from tests.unit.risk.synthetic import credit_table

pytestmark = pytest.mark.slow  # each command imports MLflow (seconds); training takes seconds


LABELLED = ("--label", "defaulted", "--positive", "default")


def banktwin(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANKTWIN_")}
    env |= {"BANKTWIN_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "banktwin", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def train_risk(data_dir: Path, data: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return banktwin(data_dir, "train", "risk", "--data", str(data), *options)


def aliases(data_dir: Path) -> dict[str, int | None]:
    registry = open_model_registry(Settings(data_dir=data_dir, mlflow_uri=None))
    try:
        found = {a: registry.version_for(RISK_MODEL, a) for a in (CHAMPION, CHALLENGER, PREVIOUS)}
    finally:
        registry.close()
    return {a: v.version if v else None for a, v in found.items()}


def read_oof(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    with path.open() as f:
        rows = list(csv.DictReader(f))
    folds = np.array([int(r["fold"]) for r in rows])
    labels = np.array([r["label"] == "1" for r in rows])
    probabilities = np.array([float(r["probability"]) for r in rows])
    return folds, labels, probabilities, [r["id"] for r in rows]


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("tables")
    features, labels = credit_table(1500, seed=21)
    table = features.assign(
        customer_id=[f"cust-{i:05d}" for i in range(len(labels))],
        defaulted=np.where(labels, "default", "current"),
    )
    csv_path, parquet_path = where / "portfolio.csv", where / "portfolio.parquet"
    table.to_csv(csv_path, index=False)
    table.to_parquet(parquet_path)
    return csv_path, parquet_path


def test_train_list_promote_and_roll_back(tmp_path: Path, tables: tuple[Path, Path]) -> None:
    csv_path, parquet_path = tables
    data_dir = tmp_path / "data"
    report, oof = tmp_path / "metrics.json", tmp_path / "oof.csv"
    common = (*LABELLED, "--id", "customer_id", "--folds", "3")

    first = train_risk(data_dir, csv_path, *common, "--json", str(report), "--oof", str(oof))
    assert first.returncode == 0, first.stderr
    assert "cross-validating lightgbm" in first.stdout + first.stderr
    assert "registered RiskScore version 1 as champion: no champion yet" in first.stdout
    document = json.loads(report.read_text())
    assert document["rows"] == 1500 and document["release"]["version"] == 1
    metrics = document["metrics"]
    assert metrics["cv_roc_auc_mean"] > 0.7
    assert set(document["candidates"]) == {"logistic", "lightgbm"}

    # Every row is in the out-of-fold file, and it recomputes the reported figures exactly.
    folds, labels, probabilities, ids = read_oof(oof)
    assert sorted(ids) == [f"cust-{i:05d}" for i in range(1500)]
    cv = folds > 0
    assert cv.sum() == metrics["train_rows"] == 1500 - document["holdout_rows"]
    assert roc_auc(labels[cv], probabilities[cv]) == metrics["cv_roc_auc"]
    assert average_precision(labels[cv], probabilities[cv]) == metrics["cv_average_precision"]
    per_fold = [roc_auc(labels[folds == f], probabilities[folds == f]) for f in (1, 2, 3)]
    assert float(np.mean(per_fold)) == metrics["cv_roc_auc_mean"]
    held = folds == 0
    assert roc_auc(labels[held], probabilities[held]) == document["release"]["holdout"]["roc_auc"]

    # A weaker model of the same table (Parquet this time) stays challenger.
    weaker = (*common, "--exclude", "income,utilisation,days_past_due")
    weak = train_risk(data_dir, parquet_path, *weaker, "--no-register")
    assert weak.returncode == 0, weak.stderr
    assert "registered" not in weak.stdout
    weak = train_risk(data_dir, parquet_path, *weaker, "--json", str(report))
    assert weak.returncode == 0, weak.stderr
    release = json.loads(report.read_text())["release"]
    assert release["version"] == 2 and not release["champion"]
    assert release["reason"].startswith("does not beat version 1")
    assert aliases(data_dir) == {CHAMPION: 1, CHALLENGER: 2, PREVIOUS: None}

    listed = banktwin(data_dir, "models", "list")
    assert listed.returncode == 0, listed.stderr
    assert "RiskScore" in listed.stdout and "FraudScore: no version yet" in listed.stdout
    assert "champion" in listed.stdout and "challenger" in listed.stdout
    assert "holdout" in listed.stdout

    promoted = banktwin(data_dir, "models", "promote", "--name", "RiskScore", "--version", "2")
    assert promoted.returncode == 0, promoted.stderr
    assert "RiskScore@champion is now version 2 (was 1" in promoted.stdout
    assert aliases(data_dir) == {CHAMPION: 2, CHALLENGER: 2, PREVIOUS: 1}

    rolled = banktwin(data_dir, "models", "rollback", "--name", "RiskScore")
    assert rolled.returncode == 0, rolled.stderr
    assert "back to version 1" in rolled.stdout
    assert aliases(data_dir)[CHAMPION] == 1

    # Serving's path: the champion's artifact loads and scores.
    registry = open_model_registry(Settings(data_dir=data_dir, mlflow_uri=None))
    try:
        champion = registry.version_for(RISK_MODEL, CHAMPION)
        assert champion is not None
        model = RiskModel.from_bytes(registry.load(RISK_MODEL, champion.version))
    finally:
        registry.close()
    assert model.feature_names == champion.card.feature_names
    assert 0 < model.predict(dict.fromkeys(model.feature_names))[0] < 1


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("train", "risk"), "the twin's history"),  # no --data: the twin's (empty) log
        (("train", "risk", "--data", "DATA"), "--label"),
        (("train", "risk", "--data", "DATA", "--label", "nope"), "--label: no column 'nope'"),
        (("train", "risk", "--data", "DATA", "--label", "defaulted"), "--positive"),
        (("train", "risk", "--data", "missing.csv", "--label", "x"), "--data: no file"),
        (
            (
                "train",
                "risk",
                "--data",
                "DATA",
                *LABELLED,
                "--categorical",
                "nope",
                "--no-register",
            ),
            "--categorical: no column 'nope'",
        ),
        (("train", "risk", "--data", "DATA", "--label", "y", "--monotone", "x=2"), "--monotone"),
        (("models", "promote", "--name", "RiskScore", "--version", "3"), "--name: no model"),
        (("models", "rollback", "--name", "bad name"), "--name: model name"),
    ],
)
def test_input_errors_name_the_option_and_exit_2(
    tmp_path: Path, tables: tuple[Path, Path], args: tuple[str, ...], named: str
) -> None:
    args = tuple(str(tables[0]) if a == "DATA" else a for a in args)
    done = banktwin(tmp_path, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert named in done.stderr
    assert "Traceback" not in done.stderr


def test_registry_errors_name_the_option(tmp_path: Path, tables: tuple[Path, Path]) -> None:
    options = (*LABELLED, "--folds", "2", "--candidates", "logistic")
    trained = train_risk(tmp_path, tables[0], *options)
    assert trained.returncode == 0, trained.stderr
    unknown = banktwin(tmp_path, "models", "promote", "--name", "RiskScore", "--version", "9")
    assert unknown.returncode == 2 and "--version: RiskScore has no version 9" in unknown.stderr
    nothing = banktwin(tmp_path, "models", "rollback", "--name", "FraudScore")
    assert nothing.returncode == 2
    assert "--name: FraudScore has no previous champion recorded" in nothing.stderr


def test_without_data_it_trains_on_the_twins_history_and_exports_its_table(
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime

    import pandas as pd

    from banktwin.adapters import open_event_log
    from banktwin.sim import SimConfig, Simulation

    log = open_event_log(Settings(data_dir=tmp_path).event_log_url)
    sim = Simulation(SimConfig(customers=300, seed=5, history_days=45))
    for batch in sim.backfill(end=datetime(2026, 3, 2, tzinfo=UTC), batch_size=20_000):
        log.append(batch)
    log.close()

    table = tmp_path / "features.parquet"
    exported = banktwin(tmp_path, "train", "risk", "--export-features", str(table))
    assert exported.returncode == 0, exported.stderr
    frame = pd.read_parquet(table)
    assert {"customer_id", "as_of", "label"} <= set(frame.columns) and frame["label"].any()
    assert aliases(tmp_path)[CHAMPION] is None  # exporting trains nothing

    report = tmp_path / "metrics.json"
    trained = banktwin(tmp_path, "train", "risk", "--folds", "3", "--json", str(report))
    assert trained.returncode == 0, trained.stderr
    figures = json.loads(report.read_text())
    assert figures["data"] == "the twin's history"
    assert aliases(tmp_path)[CHAMPION] == 1
    refused = banktwin(tmp_path, "train", "risk", "--label", "x")
    assert refused.returncode == 2 and "--label: only with --data" in refused.stderr
