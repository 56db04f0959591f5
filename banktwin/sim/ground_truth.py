"""The simulator's answer key: which events belong to an injected fraud scenario, and each
customer's latent credit quality.

Labels never travel in events; they are written here (a SQLite file) so a fraud engine
watching the events can be scored afterwards, and a risk model compared with the quality its
defaults were drawn from.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from banktwin.sqlite_connection import connect_sqlite, sqlite_errors


class Scenario(StrEnum):
    """The kinds of injected fraud."""

    COMPROMISED_CARD = "compromised_card"
    COMPROMISED_TERMINAL = "compromised_terminal"
    ACCOUNT_TAKEOVER = "account_takeover"
    CARD_TESTING = "card_testing"


class LabelRole(StrEnum):
    """What part a labelled event plays in its incident."""

    FRAUD = "fraud"
    """Done by the fraudster (a transaction, or a login/device/profile event of a takeover)."""
    COMPROMISE = "compromise"
    """A genuine purchase at a skimming terminal: where the card data was stolen, not fraud."""


@dataclass(frozen=True, slots=True)
class FraudLabel:
    """One labelled event."""

    event_id: str
    transaction_id: str | None
    customer_id: str
    scenario: Scenario
    scenario_instance_id: str
    occurred_at: str
    """ISO 8601 UTC, as on the wire."""
    role: LabelRole = LabelRole.FRAUD


@dataclass(frozen=True, slots=True)
class ScenarioInstance:
    """One injected occurrence of a scenario; ``detail`` names what was attacked."""

    scenario_instance_id: str
    scenario: Scenario
    customer_id: str
    started_at: str
    detail: str


@dataclass(frozen=True, slots=True)
class CreditQuality:
    """A customer's latent credit quality (higher is better; see
    :mod:`banktwin.sim.credit_quality`): all of it, and the part the twin can see."""

    customer_id: str
    quality: float
    observable: float


_SCHEMA = """
CREATE TABLE IF NOT EXISTS fraud_labels (
    event_id TEXT PRIMARY KEY,
    transaction_id TEXT,
    customer_id TEXT NOT NULL,
    scenario TEXT NOT NULL,
    scenario_instance_id TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'fraud'
);
CREATE INDEX IF NOT EXISTS fraud_labels_transaction ON fraud_labels (transaction_id);
CREATE TABLE IF NOT EXISTS fraud_scenarios (
    scenario_instance_id TEXT PRIMARY KEY,
    scenario TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS credit_quality (
    customer_id TEXT PRIMARY KEY,
    quality REAL NOT NULL,
    observable REAL NOT NULL
);
"""
_LABEL_COLUMNS = (
    "event_id, transaction_id, customer_id, scenario, scenario_instance_id, occurred_at, role"
)


_SEVEN = ", ".join("?" * 7)


class GroundTruthStore:
    """Fraud labels in a SQLite file (created with its tables if missing). Writing the same
    label twice keeps one row: a repeated backfill has the same event ids."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        with sqlite_errors(f"open the ground truth at {self.path}"):
            self._conn = connect_sqlite(self.path)
            self._conn.executescript(_SCHEMA)

    def record(
        self, labels: Sequence[FraudLabel], instances: Sequence[ScenarioInstance] = ()
    ) -> None:
        """Store labels and scenario instances in one transaction."""
        if not labels and not instances:
            return
        with sqlite_errors("write fraud labels"):
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(
                    f"INSERT OR REPLACE INTO fraud_labels ({_LABEL_COLUMNS}) VALUES ({_SEVEN})",
                    [
                        (
                            x.event_id,
                            x.transaction_id,
                            x.customer_id,
                            x.scenario.value,
                            x.scenario_instance_id,
                            x.occurred_at,
                            x.role.value,
                        )
                        for x in labels
                    ],
                )
                self._conn.executemany(
                    "INSERT OR REPLACE INTO fraud_scenarios VALUES (?,?,?,?,?)",
                    [
                        (
                            i.scenario_instance_id,
                            i.scenario.value,
                            i.customer_id,
                            i.started_at,
                            i.detail,
                        )
                        for i in instances
                    ],
                )
            except sqlite3.Error:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def record_credit_quality(self, qualities: Sequence[CreditQuality]) -> None:
        """Store each customer's latent credit quality (the same customer again replaces it)."""
        with sqlite_errors("write credit qualities"):
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO credit_quality VALUES (?,?,?)",
                    [(q.customer_id, q.quality, q.observable) for q in qualities],
                )
            except sqlite3.Error:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def credit_quality(self) -> dict[str, CreditQuality]:
        """Every customer's latent credit quality, by customer id."""
        with sqlite_errors("read credit qualities"):
            rows = self._conn.execute("SELECT * FROM credit_quality").fetchall()
        return {r[0]: CreditQuality(r[0], r[1], r[2]) for r in rows}

    def labels(
        self, scenario: Scenario | str | None = None, role: LabelRole | str | None = None
    ) -> list[FraudLabel]:
        """Labels in time order, optionally of one scenario and/or role."""
        where, args = self._filter(scenario, role)
        with sqlite_errors("read fraud labels"):
            rows = self._conn.execute(
                f"SELECT {_LABEL_COLUMNS} FROM fraud_labels{where} ORDER BY occurred_at, event_id",
                args,
            ).fetchall()
        return [
            FraudLabel(r[0], r[1], r[2], Scenario(r[3]), r[4], r[5], LabelRole(r[6])) for r in rows
        ]

    def instances(self, scenario: Scenario | str | None = None) -> list[ScenarioInstance]:
        """Injected scenario occurrences in start order."""
        where, args = self._filter(scenario, None)
        with sqlite_errors("read fraud scenarios"):
            rows = self._conn.execute(
                f"SELECT * FROM fraud_scenarios{where} ORDER BY started_at, scenario_instance_id",
                args,
            ).fetchall()
        return [ScenarioInstance(r[0], Scenario(r[1]), r[2], r[3], r[4]) for r in rows]

    def count(self, scenario: Scenario | str | None = None) -> int:
        """How many fraudulent transactions are labelled (optionally of one scenario)."""
        where, args = self._filter(scenario, LabelRole.FRAUD)
        with sqlite_errors("count fraud labels"):
            row = self._conn.execute(
                f"SELECT COUNT(*) FROM fraud_labels{where} AND transaction_id IS NOT NULL", args
            ).fetchone()
        return int(row[0])

    def is_fraud(self, transaction_id: str) -> bool:
        """Whether the transaction was made by a fraudster."""
        with sqlite_errors("look up a fraud label"):
            row = self._conn.execute(
                "SELECT 1 FROM fraud_labels WHERE transaction_id = ? AND role = ? LIMIT 1",
                (transaction_id, LabelRole.FRAUD.value),
            ).fetchone()
        return row is not None

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def __enter__(self) -> GroundTruthStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @staticmethod
    def _filter(
        scenario: Scenario | str | None, role: LabelRole | str | None
    ) -> tuple[str, tuple[str, ...]]:
        clauses: list[str] = []
        args: list[str] = []
        if scenario is not None:
            clauses.append("scenario = ?")
            args.append(Scenario(scenario).value)
        if role is not None:
            clauses.append("role = ?")
            args.append(LabelRole(role).value)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        return where, tuple(args)
