"""Twin generations through the runtime and the API, on SQLite and PostgreSQL: a new build's
twin is built beside the one an older build serves (503 and not ready meanwhile, never an
empty twin), a replay is built beside the served twin and switched in, and ``banktwin
projections`` lists and drops generations."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from banktwin.api.app import create_app
from banktwin.api.schemas import ReadinessPublic
from banktwin.cli import app as cli
from banktwin.config import Settings
from banktwin.errors import ConflictError
from banktwin.projector.replay import rebuild_consumers
from banktwin.runtime import Runtime
from banktwin.store import codec
from tests.factories import new_id, opened, posted, registered
from tests.integration.conftest import Api, token_for

OLD, NEW = "7", "8"


@contextmanager
def serving(settings: Settings, twin_format: str, mp: pytest.MonkeyPatch) -> Iterator[Api]:
    """An API replica (and its runtime) of the build whose twin format is given."""
    mp.setattr(codec, "TWIN_FORMAT", twin_format)
    runtime = Runtime(settings)
    try:
        with TestClient(create_app(settings, runtime=runtime)) as client:
            yield Api(client, runtime, {"reader": token_for(client, "reader")})
    finally:
        runtime.close()


def _seed(runtime: Runtime, customers: int = 3, transactions: int = 2) -> list[str]:
    ids = [new_id() for _ in range(customers)]
    runtime.log.append([e for c in ids for e in (registered(c), opened(c, balance="100.00"))])
    runtime.log.append(
        [posted(c, amount="1.00", minutes=i + 1) for c in ids for i in range(transactions)]
    )
    return ids


def _balances(api: Api, ids: list[str]) -> dict[str, Any]:
    found = {}
    for cid in ids:
        response = api.get(f"/v1/customers/{cid}", "reader")
        assert response.status_code == 200, response.text
        found[cid] = [a["balance"] for a in response.json()["accounts"]]
    return found


def _generations(runtime: Runtime) -> list[tuple[int, str, str]]:
    return [
        (s.generation.number, s.generation.twin_format, s.generation.state)
        for s in runtime.store.generations()
    ]


def test_a_new_build_is_not_ready_until_its_twin_has_caught_up_while_the_old_one_serves(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serving(settings, OLD, monkeypatch) as old:
        ids = _seed(old.runtime)
        old.project()
        served = _balances(old, ids)
        assert served == {c: [98.0] for c in ids}

        # The next build rolls out beside it (or a backup of the previous build's store is
        # restored under it): its replicas refuse reads, and say they are not ready.
        with serving(settings, NEW, monkeypatch) as new:
            answer = new.get(f"/v1/customers/{ids[0]}", "reader")
            assert answer.status_code == 503
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.headers["retry-after"] == "1"
            ready = new.client.get("/readyz")
            assert ready.status_code == 503
            ReadinessPublic.model_validate(ready.json())
            assert ready.json()["checks"] == {"log": "ok", "store": "ok", "twin": "unavailable"}
            lag = {c["name"]: c["lag"] for c in ready.json()["consumers"]}
            assert lag["twin"] == sum(new.runtime.log.end_offsets().values())
            assert _generations(new.runtime) == [(2, OLD, "active"), (3, NEW, "building")]
            assert _balances(old, ids) == served  # the old build serves meanwhile

            new.runtime.projector.run_until_caught_up()  # the new build's projector
            assert _generations(new.runtime) == [(2, OLD, "retired"), (3, NEW, "active")]
            assert new.client.get("/readyz").status_code == 200
            assert _balances(new, ids) == served
            assert _balances(old, ids) == served  # its own generation, kept


def test_a_replay_serves_the_twin_throughout_and_the_running_projector_follows_the_switch(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serving(settings, OLD, monkeypatch) as api:
        ids = _seed(api.runtime, customers=6)
        api.project()
        served = _balances(api, ids)
        replay = Runtime(
            settings.model_copy(update={"consumers": "twin", "projector_batch_size": 4})
        )
        checked: list[int] = []

        def read_meanwhile(applied: int) -> None:
            if replay.store.rebuilding():
                assert _balances(api, ids) == served
                assert api.client.get("/readyz").status_code == 200
                checked.append(applied)

        try:
            applied = rebuild_consumers(replay, on_progress=read_meanwhile)
        finally:
            replay.close()
        assert applied == sum(api.runtime.log.end_offsets().values())
        assert len(checked) > 1  # read between several of the replay's batches
        assert _generations(api.runtime) == [(2, OLD, "retired"), (3, OLD, "active")]

        api.runtime.log.append([posted(ids[0], amount="5.00", minutes=30)])
        with pytest.raises(ConflictError, match="replaced"):
            api.project()  # serve's projector wrote the replaced generation: it moves on
        api.project()
        assert _balances(api, ids)[ids[0]] == [93.0]


def test_a_replay_in_several_processes_switches_once_every_partition_has_caught_up(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serving(settings, codec.TWIN_FORMAT, monkeypatch) as api:
        ids = _seed(api.runtime, customers=20)
        api.project()
        served = _balances(api, ids)
        replay = Runtime(settings.model_copy(update={"consumers": "twin"}))
        try:
            rebuild_consumers(replay, processes=2)
        finally:
            replay.close()
        states = [state for _, _, state in _generations(api.runtime)]
        assert states == ["retired", "active"]
        assert _balances(api, ids) == served


def test_banktwin_projections_lists_generations_and_drops_the_retired(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, url in (("LOG", settings.event_log_url), ("STORE", settings.state_store_url)):
        monkeypatch.setenv(f"BANKTWIN_{name}_URL", url)
    twin_only = settings.model_copy(update={"consumers": "twin"})
    for step in ("project", "replay"):
        runtime = Runtime(twin_only)
        try:
            if step == "project":
                _seed(runtime)
                runtime.catch_up()
            else:
                rebuild_consumers(runtime)
        finally:
            runtime.close()
    runner = CliRunner()
    listed = runner.invoke(cli, ["projections"])
    assert listed.exit_code == 0, listed.output
    assert "retired" in listed.output and "active" in listed.output
    assert "serves generation 3" in listed.output
    dropped = runner.invoke(cli, ["projections", "--drop-retired"])
    assert dropped.exit_code == 0, dropped.output
    assert "dropped generation 2" in dropped.output and "dropped " in dropped.output
    again = runner.invoke(cli, ["projections", "--drop-retired"])
    assert "no retired generation to drop" in again.output


def test_a_profile_rendered_before_a_replay_is_not_served_after_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replay after a rule change (same twin format) gives twins that differ at the same
    version: the rendered-profile cache must not serve the previous generation's."""
    from banktwin.domain import customer_rules

    with serving(settings, OLD, monkeypatch) as api:
        [cid] = _seed(api.runtime, customers=1)
        api.project()
        assert api.get(f"/v1/customers/{cid}", "reader").json()["name"] == "Jane Doe"
        registered_rule = customer_rules.CUSTOMER_RULES["customer.registered"]

        def renamed(twin: Any, event: Any) -> Any:
            return {**registered_rule(twin, event), "name": "Jane Replayed"}

        monkeypatch.setitem(customer_rules.CUSTOMER_RULES, "customer.registered", renamed)
        replay = Runtime(settings.model_copy(update={"consumers": "twin"}))
        try:
            rebuild_consumers(replay)
        finally:
            replay.close()
        deadline = time.monotonic() + 5  # readers look the served generation up every second
        while api.get(f"/v1/customers/{cid}", "reader").json()["name"] != "Jane Replayed":
            assert time.monotonic() < deadline, "the replayed profile was never served"
            time.sleep(0.05)
