"""banktwin's Prometheus alerting rules and Grafana dashboard (deploy/): promtool checks the
rules and runs their unit tests (deploy/prometheus/rules_test.yml), every metric the rules and
the dashboard name is one banktwin exports, and the thresholds are banktwin's own."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

# The thresholds of banktwin's own evaluator (the seed's three, and issue 13's stalled
# consumer). Written out, not imported: the rules must change when these do, on purpose.
INGESTION_LAG_S = 300.0  # 5 minutes
INGESTION_LAG_FOR = "1m"
MODEL_DRIFT = 0.10  # 10 %
FRAUD_ALERT_RATE_FACTOR = 2.0  # twice the trailing baseline
STALLED_AFTER_S = 600.0  # 10 minutes
DEAD_LETTERS_WINDOW = "15m"
DATA_COMPLETENESS_FOR = "30m"
DATA_COMPLETENESS_TARGET = 0.95

METRICS = frozenset(
    {
        "banktwin_http_request_duration_seconds",
        "banktwin_events_appended_total",
        "banktwin_events_applied_total",
        "banktwin_consumer_lag_events",
        "banktwin_consumer_lag_seconds",
        "banktwin_consumer_last_commit_timestamp_seconds",
        "banktwin_dead_letters",
        "banktwin_fraud_scoring_seconds",
        "banktwin_fraud_alert_rate",
        "banktwin_fraud_alert_rate_baseline",
        "banktwin_data_completeness_ratio",
        "banktwin_data_completeness_target",
        "banktwin_model_drift_ratio",
        "banktwin_job_duration_seconds",
    }
)
"""What banktwin's GET /metrics exports."""
HISTOGRAMS = frozenset(
    {
        "banktwin_http_request_duration_seconds",
        "banktwin_fraud_scoring_seconds",
        "banktwin_job_duration_seconds",
    }
)
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

SEVERITIES = {
    "BanktwinIngestionLag": "page",
    "BanktwinConsumerStalled": "page",
    "BanktwinFraudAlertRate": "page",
    "BanktwinModelDrift": "page",
    "BanktwinDeadLettersGrowing": "ticket",
    "BanktwinDataCompletenessBelowTarget": "ticket",
}
RUNBOOK = "docs/operations.md#alerts"

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO / "deploy" / "prometheus"
RULES = PROMETHEUS / "rules.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "banktwin.json"
METRIC_NAME = re.compile(r"banktwin_[a-z_]+")
GRAFANA_RANGE_VARIABLES = ("$__rate_interval", "$__interval", "$__range")


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip(
            "promtool is not installed: run `make tools` (as root it installs Debian's "
            "prometheus package, which provides /usr/bin/promtool)"
        )
    return path


def run_promtool(promtool: str, *args: str | Path) -> str:
    done = subprocess.run(
        [promtool, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"promtool {' '.join(map(str, args))} failed:\n{output}"
    return output


def alert_rules() -> dict[str, dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    assert [g["name"] for g in groups] == ["banktwin"]
    return {rule["alert"]: rule for rule in groups[0]["rules"]}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def graph_panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    panels: list[dict[str, Any]] = []
    for panel in board["panels"]:
        panels.extend(panel.get("panels", []) if panel["type"] == "row" else [panel])
    return panels


def dashboard_expressions(board: dict[str, Any]) -> list[str]:
    return [t["expr"] for panel in graph_panels(board) for t in panel["targets"]]


def metrics_named(text: str) -> set[str]:
    """The banktwin metrics an expression or template names, histogram series as their
    histogram; a name banktwin does not export is returned as it is."""
    names = set()
    for name in METRIC_NAME.findall(text):
        for suffix in HISTOGRAM_SUFFIXES:
            if name.endswith(suffix) and name.removesuffix(suffix) in HISTOGRAMS:
                name = name.removesuffix(suffix)
        names.add(name)
    return names


def threshold(expr: str, left: str) -> float:
    """The number ``expr`` compares ``left`` (a regex) to with ``>``."""
    found = re.search(left + r"\s*>\s*([0-9.]+)", expr)
    assert found, f"no `{left} > N` in {expr!r}"
    return float(found.group(1))


def test_promtool_checks_the_rules(promtool: str) -> None:
    output = run_promtool(promtool, "check", "rules", RULES)
    assert f"SUCCESS: {len(SEVERITIES)} rules found" in output


def test_rules_pass_their_unit_tests(promtool: str) -> None:
    run_promtool(promtool, "test", "rules", PROMETHEUS / "rules_test.yml")


def test_example_prometheus_config_is_valid(promtool: str) -> None:
    run_promtool(promtool, "check", "config", PROMETHEUS / "prometheus.yml")


def test_dashboard_expressions_are_valid_promql(promtool: str, tmp_path: Path) -> None:
    """Each panel query, with Grafana's range variables replaced, parses as PromQL (checked by
    promtool as a recording rule)."""
    rules = []
    for i, expr in enumerate(dashboard_expressions(dashboard())):
        for variable in GRAFANA_RANGE_VARIABLES:
            expr = expr.replace(variable, "5m")
        assert "$" not in expr, f"a Grafana variable promtool cannot check: {expr!r}"
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    run_promtool(promtool, "check", "rules", path)


def test_every_alert_has_its_severity_and_a_runbook() -> None:
    rules = alert_rules()
    assert {name: rule["labels"]["severity"] for name, rule in rules.items()} == SEVERITIES
    for name, rule in rules.items():
        annotations = rule["annotations"]
        assert annotations["runbook_url"] == RUNBOOK, name
        assert annotations["summary"].strip(), name
        assert "$value" in annotations["description"], name


def test_rule_thresholds_are_banktwins_own() -> None:
    rules = alert_rules()
    lag = rules["BanktwinIngestionLag"]
    assert threshold(lag["expr"], "banktwin_consumer_lag_seconds") == INGESTION_LAG_S
    assert lag["for"] == INGESTION_LAG_FOR
    drift = rules["BanktwinModelDrift"]["expr"]
    assert threshold(drift, "banktwin_model_drift_ratio") == MODEL_DRIFT
    fraud = rules["BanktwinFraudAlertRate"]["expr"]
    ratio = r"banktwin_fraud_alert_rate\s*/\s*banktwin_fraud_alert_rate_baseline"
    assert threshold(fraud, ratio) == FRAUD_ALERT_RATE_FACTOR
    assert threshold(fraud, r"and \(banktwin_fraud_alert_rate_baseline") == 0
    stalled = rules["BanktwinConsumerStalled"]["expr"]
    since = r"time\(\)\s*-\s*banktwin_consumer_last_commit_timestamp_seconds"
    assert threshold(stalled, since) == STALLED_AFTER_S
    assert threshold(stalled, r"and \(banktwin_consumer_lag_events") == 0
    dead = rules["BanktwinDeadLettersGrowing"]["expr"]
    assert threshold(dead, rf"delta\(banktwin_dead_letters\[{DEAD_LETTERS_WINDOW}\]\)") == 0
    assert rules["BanktwinDataCompletenessBelowTarget"]["for"] == DATA_COMPLETENESS_FOR


def test_rules_name_only_exported_metrics() -> None:
    for name, rule in alert_rules().items():
        named = metrics_named(rule["expr"])
        for annotation in rule["annotations"].values():
            named |= metrics_named(annotation)
        assert named, name
        assert named <= METRICS, f"{name} names {sorted(named - METRICS)}"


def test_dashboard_shows_every_exported_metric_and_nothing_else() -> None:
    named: set[str] = set()
    for expr in dashboard_expressions(dashboard()):
        named |= metrics_named(expr)
    assert named - METRICS == set(), f"not exported by banktwin: {sorted(named - METRICS)}"
    assert METRICS - named == set(), f"not on the dashboard: {sorted(METRICS - named)}"


def test_dashboard_is_importable_and_queries_the_chosen_prometheus() -> None:
    board = dashboard()
    assert board["schemaVersion"] >= 39  # Grafana 11 and newer
    assert board["id"] is None and board["uid"] and board["title"]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    chosen = {"type": "prometheus", "uid": "${datasource}"}
    for panel in graph_panels(board):
        where = panel["title"]
        assert panel["datasource"] == chosen, where
        assert panel["targets"], where
        assert all(t["datasource"] == chosen and t["expr"] for t in panel["targets"]), where
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, where


def test_dashboard_draws_the_alert_thresholds() -> None:
    panels = {p["title"]: p for p in graph_panels(dashboard())}

    def line(title: str) -> float:
        defaults = panels[title]["fieldConfig"]["defaults"]
        assert defaults["custom"]["thresholdsStyle"]["mode"] != "off", title
        value: float = defaults["thresholds"]["steps"][-1]["value"]
        return value

    assert line("Consumer lag (seconds)") == INGESTION_LAG_S
    assert line("Time since last commit") == STALLED_AFTER_S
    assert line("Model drift") == MODEL_DRIFT
    assert line("Data completeness vs target") == DATA_COMPLETENESS_TARGET
    fraud = [t["expr"] for t in panels["Fraud-alert rate vs 2x baseline"]["targets"]]
    baseline = re.compile(r"([0-9.]+)\s*\*\s*max\(banktwin_fraud_alert_rate_baseline\)")
    factors = [float(m.group(1)) for m in map(baseline.search, fraud) if m]
    assert factors == [FRAUD_ALERT_RATE_FACTOR]


def test_these_thresholds_are_the_ones_banktwins_own_evaluator_uses() -> None:
    from banktwin.domain.operational_alerts import RULES as EVALUATOR

    assert EVALUATOR["ingestion_lag"].threshold == INGESTION_LAG_S
    assert EVALUATOR["ingestion_lag"].for_s == 60  # INGESTION_LAG_FOR
    assert EVALUATOR["model_drift"].threshold == MODEL_DRIFT
    assert EVALUATOR["fraud_alert_rate"].threshold == FRAUD_ALERT_RATE_FACTOR
    assert EVALUATOR["consumer_stalled"].threshold == STALLED_AFTER_S
    alerts = {
        "ingestion_lag": "BanktwinIngestionLag",
        "consumer_stalled": "BanktwinConsumerStalled",
        "fraud_alert_rate": "BanktwinFraudAlertRate",
        "model_drift": "BanktwinModelDrift",
        "dead_letters_growing": "BanktwinDeadLettersGrowing",
    }
    for rule, alert in alerts.items():
        assert EVALUATOR[rule].severity.value == SEVERITIES[alert], rule
