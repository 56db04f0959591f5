"""A synthetic labelled card-transaction table, and the timing of a fraud backtest on it.

The table follows the simulator of the "Reproducible Machine Learning for Credit Card Fraud
Detection" handbook (chapter 3): customers and terminals at random places on a 100 by 100 grid,
each customer using the terminals within 5 units, with a spending profile (mean amount, number
of transactions a day); three fraud scenarios: any amount over 220; compromised terminals
(two a day per 10,000 terminals, all their transactions fraudulent for 28 days); compromised
customers (three a day per 5,000 customers, a third of their transactions over 14 days at five
times the amount). The handbook's default (5,000 customers, 10,000 terminals, 183 days) makes
about 1.75 M transactions, ~0.8 % fraudulent. Two columns go beyond the handbook: a channel
(customers shop online now and then; the compromised customers' frauds are card-not-present,
online) and the time each fraud was reported (0.5 to 30 days later, median 4).

python -m bench.fraud_backtest_table --rows 200000 [--days 60] [--out table.parquet]
                                     [--keep] [--no-run]

writes the table (CSV or Parquet by extension), runs ``banktwin fraud backtest`` on it (14 days
of warm-up, the last 14 days as test window, everything between for training) and prints the
timings as JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

START = datetime(2018, 4, 1, tzinfo=UTC)
HANDBOOK_CUSTOMERS = 5_000
RADIUS = 5.0
TRANSACTIONS_PER_CUSTOMER_DAY = 2.0 * 0.969
"""The handbook's mean rate U(0, 4), less the times drawn outside the day (|z| > 2.16)."""
COLUMNS = "id=TRANSACTION_ID,customer=CUSTOMER_ID,terminal=TERMINAL_ID,amount=TX_AMOUNT,"
COLUMNS += "timestamp=TX_DATETIME,label=TX_FRAUD,channel=TX_CHANNEL"
"""The ``--columns`` of the table for ``banktwin fraud backtest``."""


def generate_transactions(
    customers: int = HANDBOOK_CUSTOMERS,
    days: int = 183,
    seed: int = 0,
    start: datetime = START,
    compromise: float = 1.0,
) -> pa.Table:
    """The handbook's synthetic transactions, sorted by time, with their fraud labels.

    Terminals are twice the customers, compromise rates scale with the population, so the
    fraud rate (~0.8 %) does not depend on the size; ``compromise`` multiplies those rates
    (a small table for a test needs more frauds).
    """
    rng = np.random.default_rng(seed)
    terminals = 2 * customers
    place = rng.uniform(0, 100, (customers, 2))
    mean_amount = rng.uniform(5, 100, customers)
    per_day = rng.uniform(0, 4, customers)
    online_share = rng.uniform(0, 0.3, customers)
    terminal_place = rng.uniform(0, 100, (terminals, 2))
    usable = _terminals_in_reach(place, terminal_place)

    counts = rng.poisson(np.repeat(per_day, days)).reshape(customers, days)
    customer = np.repeat(np.arange(customers), counts.sum(axis=1))
    day = np.repeat(np.tile(np.arange(days), customers), counts.ravel())
    second = rng.normal(43_200, 20_000, customer.size).astype(np.int64)
    offsets = np.r_[0, np.cumsum([len(u) for u in usable])]
    reachable = np.diff(offsets)
    keep = (second > 0) & (second < 86_400) & (reachable[customer] > 0)
    customer, day, second = customer[keep], day[keep], second[keep]
    n = customer.size
    amount = rng.normal(mean_amount[customer], mean_amount[customer] / 2)
    negative = amount < 0
    amount[negative] = rng.uniform(0, 2 * mean_amount[customer[negative]])
    amount = np.maximum(np.round(amount, 2), 0.01)
    flat = np.concatenate(usable)
    pick = (rng.random(n) * reachable[customer]).astype(np.int64)
    terminal = flat[offsets[customer] + pick]
    online = rng.random(n) < online_share[customer]

    scenario = np.zeros(n, dtype=np.int8)
    scenario[amount > 220] = 1
    bad_terminal = _compromised(rng, terminals, days, compromise * 2e-4 * terminals, 28)
    scenario[bad_terminal[terminal, day]] = 2
    bad_customer = _compromised(rng, customers, days, compromise * 6e-4 * customers, 14)
    stolen = bad_customer[customer, day] & (rng.random(n) < 1 / 3)
    amount[stolen] = np.round(amount[stolen] * 5, 2)
    online[stolen] = True
    scenario[stolen] = 3
    fraud = scenario > 0

    order = np.lexsort((second, day))
    micros = (day[order] * 86_400 + second[order]) * 1_000_000
    base = int(start.timestamp() * 1_000_000)
    reported_after = np.clip(rng.lognormal(np.log(4.0), 0.8, n), 0.5, 30.0) * 86_400e6
    reported = np.where(fraud[order], base + micros + reported_after.astype(np.int64), 0)
    timestamps = pa.array(base + micros, type=pa.timestamp("us"))
    return pa.table(
        {
            "TRANSACTION_ID": pa.array(np.arange(n)),
            "TX_DATETIME": timestamps,
            "CUSTOMER_ID": pa.array(customer[order]),
            "TERMINAL_ID": pa.array(terminal[order]),
            "TX_AMOUNT": pa.array(amount[order]),
            "TX_CHANNEL": pa.array(np.where(online[order], "ecommerce", "card_present")),
            "TX_FRAUD": pa.array(fraud[order].astype(np.int8)),
            "TX_FRAUD_SCENARIO": pa.array(scenario[order]),
            "TX_FRAUD_REPORTED_AT": pa.array(reported, type=pa.timestamp("us"), mask=~fraud[order]),
        }
    )


def _terminals_in_reach(place: np.ndarray, terminal_place: np.ndarray) -> list[np.ndarray]:
    """For each customer, the terminals within ``RADIUS`` (in chunks: customers-by-terminals
    distances would not fit in memory for the handbook's sizes)."""
    usable: list[np.ndarray] = []
    for first in range(0, len(place), 500):
        chunk = place[first : first + 500]
        squared = ((chunk[:, None, :] - terminal_place[None, :, :]) ** 2).sum(axis=2)
        usable.extend(np.flatnonzero(row < RADIUS**2) for row in squared)
    return usable


def _compromised(
    rng: np.random.Generator, population: int, days: int, per_day: float, lasting: int
) -> np.ndarray:
    """``(population, days)``: which members are compromised which day; each day a Poisson
    number of them (mean ``per_day``) is compromised for ``lasting`` days."""
    marks = np.zeros((population, days + lasting), dtype=bool)
    for day in range(days):
        for member in rng.choice(population, rng.poisson(per_day), replace=True):
            marks[member, day : day + lasting] = True
    return marks[:, :days]


def write_table(table: pa.Table, path: Path) -> None:
    """Write a table as CSV or Parquet, by the file's extension."""
    if path.suffix == ".csv":
        pa_csv.write_csv(table, path)
    else:
        pq.write_table(table, path)


def _windows(days: int) -> tuple[str, str]:
    """14 days of warm-up, the last 14 days for test, the days between for training."""
    first_train = START + timedelta(days=14)
    first_test = START + timedelta(days=days - 14)
    last = START + timedelta(days=days - 1)
    train = f"{first_train:%Y-%m-%d}..{first_test - timedelta(days=1):%Y-%m-%d}"
    return train, f"{first_test:%Y-%m-%d}..{last:%Y-%m-%d}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fraud_backtest_table")
    parser.add_argument("--rows", type=int, default=200_000, help="about this many rows")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="where to write the table (.csv, .parquet)")
    parser.add_argument("--no-run", action="store_true", help="only write the table")
    args = parser.parse_args()
    customers = max(50, round(args.rows / (args.days * TRANSACTIONS_PER_CUSTOMER_DAY)))
    began = time.perf_counter()
    table = generate_transactions(customers, args.days, args.seed)
    generated = time.perf_counter() - began
    with tempfile.TemporaryDirectory() as tmp:
        path = args.out or Path(tmp) / "transactions.parquet"
        write_table(table, path)
        fraud = np.asarray(table["TX_FRAUD"]).mean()
        report: dict[str, object] = {
            "rows": table.num_rows,
            "customers": customers,
            "days": args.days,
            "fraud_rate": round(float(fraud), 5),
            "generate_s": round(generated, 2),
            "table": str(path),
        }
        if not args.no_run:
            report |= _time_backtest(path, args.days)
        print(json.dumps(report, indent=2))


def _time_backtest(path: Path, days: int) -> dict[str, object]:
    from typer.testing import CliRunner

    from banktwin.fraud.cli import fraud_app

    train, test = _windows(days)
    out = path.with_suffix(".metrics.json")
    began = time.perf_counter()
    result = CliRunner().invoke(
        fraud_app,
        [
            *("backtest", "--transactions", str(path), "--columns", COLUMNS),
            *("--train", train, "--test", test, "--json", str(out)),
        ],
    )
    elapsed = time.perf_counter() - began
    if result.exit_code != 0:
        raise SystemExit(f"backtest failed ({result.exit_code}):\n{result.output}")
    metrics = json.loads(out.read_text())
    rows = metrics["rows"]["read"]
    return {
        "train": train,
        "test": test,
        "backtest_s": round(elapsed, 1),
        "rows_per_s": round(rows / elapsed),
        "estimate_1_75m_s": round(1_750_000 / (rows / elapsed)),
        "metrics": metrics,
    }


if __name__ == "__main__":
    main()
