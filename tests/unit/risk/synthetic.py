"""Synthetic credit tables with a known signal, for the risk model's tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

REGIONS = ("north", "south", "east", "west", "centre", "islands")
REGION_EFFECT = {
    "north": -0.4,
    "south": 0.3,
    "east": 0.0,
    "west": 0.2,
    "centre": -0.2,
    "islands": 0.6,
}


def true_log_odds(table: pd.DataFrame) -> np.ndarray:
    """The log-odds the labels of :func:`credit_table` are drawn from."""
    income = table["income"].to_numpy(dtype=np.float64, na_value=np.nan)
    income_term = np.where(
        np.isnan(income), 0.5, -0.6 * np.log(np.nan_to_num(income, nan=1.0) / 40_000)
    )
    utilisation = table["utilisation"].to_numpy(dtype=np.float64)
    return np.asarray(
        -3.0
        + 1.5 * utilisation
        + 1.2 * (utilisation > 0.9)  # a threshold: the trees see it, a line does not
        + 0.45 * table["days_past_due"].to_numpy(dtype=np.float64)
        + income_term
        + table["region"].map(REGION_EFFECT).fillna(0.0).to_numpy(dtype=np.float64)
        + 0.3 * table["has_mortgage"].to_numpy(dtype=np.float64),
        dtype=np.float64,
    )


def credit_table(rows: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A table of ``rows`` customers (numbers with missing values, flags, low- and
    high-cardinality categories, one pure-noise column) and labels drawn from
    :func:`true_log_odds`."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(np.log(40_000), 0.5, rows)
    income[rng.random(rows) < 0.1] = np.nan
    table = pd.DataFrame(
        {
            "income": income,
            "utilisation": rng.uniform(0.0, 1.3, rows),
            "days_past_due": rng.poisson(0.6, rows),
            "region": rng.choice(REGIONS, rows),
            "has_mortgage": rng.random(rows) < 0.4,
            "employer": [f"employer-{i}" for i in rng.integers(0, 60, rows)],
            "noise": rng.normal(size=rows),
        }
    )
    table.loc[rng.random(rows) < 0.05, "region"] = None
    labels = rng.random(rows) < 1.0 / (1.0 + np.exp(-true_log_odds(table)))
    return table, labels
