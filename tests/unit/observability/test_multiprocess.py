"""Several processes writing to one directory, read as one scrape: what lets the API expose
what its consumer processes counted. Each writer is a real process (the library keeps one file
per process id)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from banktwin.observability.exposition import CountedMetrics
from banktwin.observability.instruments import instruments
from banktwin.observability.multiprocess import DIR_NAME, MULTIPROC_ENV
from tests.unit.observability.samples import parsed


def run(code: str, **env: str) -> str:
    """Run ``code`` in a new Python process (without this one's multiprocess directory);
    returns what it printed."""
    environ = {k: v for k, v in os.environ.items() if k != MULTIPROC_ENV} | env
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def scrape(directory: Path) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    registry = CollectorRegistry()
    registry.register(CountedMetrics(instruments(), str(directory)))
    return parsed(generate_latest(registry))


WRITER = """
    from pathlib import Path
    from banktwin.observability.instruments import instruments
    from banktwin.observability.multiprocess import join_metrics_dir

    print(join_metrics_dir(Path({data_dir!r})))
    metrics = instruments()
    metrics.events_appended.labels("transaction.posted", "loader").inc({appended})
    metrics.consumer_last_commit.labels("twin").set({committed_at})
    metrics.fraud_scoring.observe({seconds})
"""


def test_what_processes_count_is_added_up_and_the_latest_commit_wins(tmp_path: Path) -> None:
    (tmp_path / DIR_NAME).mkdir()
    for appended, committed_at, seconds in ((3, 1000.0, 0.00002), (4, 2000.0, 0.004)):
        code = WRITER.format(
            data_dir=str(tmp_path), appended=appended, committed_at=committed_at, seconds=seconds
        )
        out = run(code)
        assert out.strip() == str(tmp_path / DIR_NAME)
    assert len(list((tmp_path / DIR_NAME).glob("counter_*.db"))) == 2  # one file per process
    found = scrape(tmp_path / DIR_NAME)
    appended_key = (("source", "loader"), ("type", "transaction.posted"))
    assert found["banktwin_events_appended_total"] == {appended_key: 7}
    assert found["banktwin_consumer_last_commit_timestamp_seconds"] == {
        (("consumer", "twin"),): 2000
    }
    assert found["banktwin_fraud_scoring_seconds_count"] == {(): 2}
    assert found["banktwin_fraud_scoring_seconds_bucket"][(("le", "2.5e-05"),)] == 1
    assert found["banktwin_fraud_scoring_seconds_bucket"][(("le", "0.005"),)] == 2
    # Families no process wrote are still named.
    assert found["banktwin_job_duration_seconds"] == {}
    assert found["banktwin_http_request_duration_seconds"] == {}


def test_without_a_prepared_directory_a_process_keeps_its_metrics(tmp_path: Path) -> None:
    out = run(WRITER.format(data_dir=str(tmp_path), appended=1, committed_at=1.0, seconds=0.1))
    assert out.strip() == "None"
    assert not (tmp_path / DIR_NAME).exists()


def test_serve_prepares_an_empty_directory_that_the_processes_it_starts_inherit(
    tmp_path: Path,
) -> None:
    stale = tmp_path / DIR_NAME / "counter_4242.db"
    stale.parent.mkdir()
    stale.write_bytes(b"left by an earlier run")
    out = run(
        f"""
        import os, subprocess, sys
        from pathlib import Path
        from banktwin.observability.instruments import instruments
        from banktwin.observability.multiprocess import prepare_metrics_dir

        print(prepare_metrics_dir(Path({str(tmp_path)!r})))
        instruments().events_appended.labels("customer.login", "app").inc(2)
        child = "from banktwin.observability.instruments import instruments; "
        child += "instruments().events_appended.labels('customer.login', 'app').inc(5)"
        subprocess.run([sys.executable, "-c", child], check=True)
        """
    )
    assert out.strip() == str(tmp_path / DIR_NAME)
    assert not stale.exists()
    found = scrape(tmp_path / DIR_NAME)
    key = (("source", "app"), ("type", "customer.login"))
    assert found["banktwin_events_appended_total"] == {key: 7}


def test_a_directory_given_in_the_environment_is_used_as_it_is(tmp_path: Path) -> None:
    given = tmp_path / "shared"
    given.mkdir()
    kept = given / "counter_4242.db"
    kept.write_bytes(b"")
    out = run(
        f"""
        from pathlib import Path
        from banktwin.observability.multiprocess import prepare_metrics_dir

        print(prepare_metrics_dir(Path({str(tmp_path)!r})))
        """,
        **{MULTIPROC_ENV: str(given)},
    )
    assert out.strip() == str(given)
    assert kept.exists()  # whoever set the variable empties the directory
    assert not (tmp_path / DIR_NAME).exists()


def test_a_process_that_ended_still_counts_for_what_it_did(tmp_path: Path) -> None:
    (tmp_path / DIR_NAME).mkdir()
    run(WRITER.format(data_dir=str(tmp_path), appended=2, committed_at=5.0, seconds=0.1))
    (written,) = (tmp_path / DIR_NAME).glob("counter_*.db")
    pid = int(written.stem.split("_")[-1])
    run(
        f"""
        from banktwin.observability.multiprocess import forget_process
        forget_process({pid})
        """,
        **{MULTIPROC_ENV: str(tmp_path / DIR_NAME)},
    )
    found = scrape(tmp_path / DIR_NAME)
    assert sum(found["banktwin_events_appended_total"].values()) == 2
    assert found["banktwin_consumer_last_commit_timestamp_seconds"] == {(("consumer", "twin"),): 5}


def test_choosing_the_directory_after_a_metric_was_made_is_refused(tmp_path: Path) -> None:
    out = run(
        f"""
        from pathlib import Path
        from banktwin.observability.instruments import instruments
        from banktwin.observability.multiprocess import prepare_metrics_dir

        instruments().events_appended.labels("customer.login", "app").inc()
        try:
            prepare_metrics_dir(Path({str(tmp_path)!r}))
        except RuntimeError as exc:
            print(exc)
        """
    )
    assert "created before the multiprocess directory was chosen" in out
