"""A small backfill shared by the simulator's tests (generated once per session)."""

from __future__ import annotations

import pytest

from tests.unit.sim.sim_fixtures import END, SMALL, Backfill, make_backfill


@pytest.fixture(scope="session")
def backfill(tmp_path_factory: pytest.TempPathFactory) -> Backfill:
    path = tmp_path_factory.mktemp("sim") / "ground_truth.db"
    batches, truth, estimate = make_backfill(SMALL, END, path)
    assert truth is not None
    return Backfill(SMALL, END, [e for batch in batches for e in batch], truth, estimate)
