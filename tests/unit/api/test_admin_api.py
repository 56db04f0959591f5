"""``POST /v1/admin/retrain`` and ``GET /v1/admin/jobs[/{jobId}]``: the admin scope only, 202
with the queued job and its Location, 400 naming the bad field, the job followed to its
version and metrics. The app runs its real job runner and store (in memory), with a fake
trainer built on the trainer port."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from banktwin.api.admin_schemas import JobPublic
from banktwin.api.app import create_app
from banktwin.api.auth import ADMIN, READ, SCOPES, WRITE, Authority
from banktwin.config import Settings
from banktwin.runtime import Runtime
from tests.unit.jobs.fakes import FakeTrainer

SETTINGS = Settings(
    log_url="memory://?partitions=2",
    store_url="memory://",
    token_secret="a" * 40,
    clients="ops:ops-secret-123:" + "+".join(SCOPES),
    retrain_schedule="off",
)
RETRAIN = "/v1/admin/retrain"


class Admin:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens

    def post(self, body: Any, who: str = "admin", **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}", **kw.pop("headers", {})}
        return self.client.post(RETRAIN, json=body, headers=headers, **kw)

    def get(self, path: str, who: str = "admin") -> Any:
        return self.client.get(path, headers={"Authorization": f"Bearer {self.tokens[who]}"})

    def until_finished(self, location: str) -> dict[str, Any]:
        deadline = time.monotonic() + 10
        while True:
            job: dict[str, Any] = self.get(location).json()
            if job["status"] in ("succeeded", "failed"):
                return job
            assert time.monotonic() < deadline, job
            time.sleep(0.01)


@pytest.fixture
def admin() -> Iterator[Admin]:
    authority = Authority.from_settings(SETTINGS)
    ops = authority.client("ops")
    tokens = {
        "admin": authority.issue(ops, frozenset({ADMIN})),
        "reader-writer": authority.issue(ops, frozenset({READ, WRITE})),
    }
    runtime = Runtime(SETTINGS)
    app = create_app(
        SETTINGS, runtime=runtime, authority=authority, trainers={"Fake": FakeTrainer()}
    )
    try:
        with TestClient(app) as client:
            yield Admin(client, tokens)
    finally:
        runtime.close()


def test_a_retrain_is_accepted_queued_and_followed_to_its_version_and_metrics(
    admin: Admin,
) -> None:
    body = {
        "modelName": "Fake",
        "algorithm": "slow",
        "parameters": {"rate": 0.5, "deep": False},
        "trainingWindow": {"start": "2026-01-01T00:00:00+01:00", "end": None},
        "promoteIfBetter": True,
    }
    answer = admin.post(body)
    assert answer.status_code == 202, answer.text
    job = JobPublic.model_validate(answer.json())
    assert answer.headers["Location"] == f"/v1/admin/jobs/{job.job_id}"
    assert job.status == "queued" and job.requested_by == "ops" and job.attempts == 0
    assert job.config.parameters == {"rate": 0.5, "deep": False}
    assert job.config.training_window.start is not None
    assert job.config.training_window.start.isoformat() == "2025-12-31T23:00:00+00:00"
    done = admin.until_finished(answer.headers["Location"])
    JobPublic.model_validate(done)
    assert done["status"] == "succeeded" and done["attempts"] == 1
    assert done["result"]["version"] == 1 and done["result"]["champion"] is True
    assert done["result"]["metrics"] == {"validation_average_precision": 0.5}
    assert done["progress"] == {"fraction": 1.0, "message": "done"}


def test_jobs_are_listed_newest_first_with_paging_and_a_status_filter(admin: Admin) -> None:
    ids = [admin.post({"modelName": "Fake"}).json()["jobId"] for _ in range(3)]
    for job_id in ids:
        admin.until_finished(f"/v1/admin/jobs/{job_id}")
    page = admin.get("/v1/admin/jobs?limit=2")
    assert page.status_code == 200 and page.headers["X-Total-Count"] == "3"
    assert [j["jobId"] for j in page.json()] == ids[:0:-1]
    assert 'rel="next"' in page.headers["Link"]
    for job in page.json():
        JobPublic.model_validate(job)
    assert admin.get("/v1/admin/jobs?status=succeeded").headers["X-Total-Count"] == "3"
    assert admin.get("/v1/admin/jobs?status=queued").json() == []
    assert admin.get("/v1/admin/jobs?status=done").status_code == 400


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"modelName": "RiskScore"}, "modelName", "the models that can be retrained here: Fake"),
        ({"modelName": "Fake", "algorithm": "xgb"}, "algorithm", "use fast or slow"),
        ({"modelName": "Fake", "parameters": {"trees": 9}}, "parameters.trees", "takes seed"),
        ({"modelName": "Fake", "parameters": {"seed": 1.5}}, "parameters.seed", "an integer"),
        ({"modelName": "Fake", "parameters": {"seed": 11}}, "parameters.seed", "at most 10"),
        ({"modelName": "Fake", "parameters": {"seed": "1"}}, "parameters.seed", "an integer"),
        (
            {
                "modelName": "Fake",
                "trainingWindow": {"start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00Z"},
            },
            "trainingWindow.end",
            "ISO 8601",
        ),
        (
            {
                "modelName": "Fake",
                "trainingWindow": {"start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
            },
            "trainingWindow.end",
            "after trainingWindow.start",
        ),
        (
            {"modelName": "Fake", "trainingWindow": {"start": 1767225600}},
            "trainingWindow.start",
            "ISO 8601",
        ),
        (
            {"modelName": "Fake", "trainingWindow": {"begin": None}},
            "trainingWindow.begin",
            "not permitted",
        ),
        ({"modelName": "Fake", "promoteIfBetter": "yes"}, "promoteIfBetter", "boolean"),
        ({"modelName": "Fake", "model": "x"}, "model", "not permitted"),
        ({"algorithm": "fast"}, "modelName", "required"),
        ([{"modelName": "Fake"}], "body", "dictionary"),
    ],
)
def test_a_bad_request_is_refused_naming_its_field(
    admin: Admin, body: Any, field: str, words: str
) -> None:
    answer = admin.post(body)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    named = {e["field"]: e["message"] for e in problem["errors"]}
    assert field in named and words in named[field], problem
    assert field in problem["detail"]
    assert admin.get("/v1/admin/jobs").json() == []  # nothing was queued


def test_malformed_or_mistyped_bodies_are_refused(admin: Admin) -> None:
    token = {"Authorization": f"Bearer {admin.tokens['admin']}"}
    broken = admin.client.post(
        RETRAIN, content=b"{", headers={**token, "Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["type"] == "/problems/malformed-json"
    text = admin.client.post(RETRAIN, content=b"x", headers={**token, "Content-Type": "text/plain"})
    assert text.status_code == 415


def test_without_a_token_401_and_without_the_admin_scope_403(admin: Admin) -> None:
    for path in (RETRAIN, "/v1/admin/jobs", "/v1/admin/jobs/00000000-0000-4000-8000-000000000000"):
        call = admin.client.post if path == RETRAIN else admin.client.get
        anonymous = call(path)
        assert anonymous.status_code == 401, path
        assert anonymous.headers["content-type"] == "application/problem+json"
    refused = admin.post({"modelName": "Fake"}, who="reader-writer")
    assert refused.status_code == 403 and "digitaltwin.admin" in refused.json()["detail"]
    assert admin.post({"bogus": 1}, who="reader-writer").status_code == 403  # before the body
    assert admin.get("/v1/admin/jobs", who="reader-writer").status_code == 403
    assert admin.get("/v1/admin/jobs", who="admin").json() == []  # nothing was queued


def test_an_unknown_job_is_404_and_a_malformed_id_400(admin: Admin) -> None:
    missing = admin.get("/v1/admin/jobs/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and "no job" in missing.json()["detail"]
    assert admin.get("/v1/admin/jobs/not-a-uuid").status_code == 400


def test_the_openapi_document_lists_the_admin_operations_with_the_admin_scope(
    admin: Admin,
) -> None:
    paths = admin.client.get("/openapi.json").json()["paths"]
    for path, method in (
        (RETRAIN, "post"),
        ("/v1/admin/jobs", "get"),
        ("/v1/admin/jobs/{jobId}", "get"),
    ):
        assert paths[path][method]["security"] == [{"OAuth2": [ADMIN]}]
    post = paths[RETRAIN]["post"]
    assert set(post["responses"]) >= {"202", "400", "401", "403"}
    assert "Location" in post["responses"]["202"]["headers"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["modelName"] and body["additionalProperties"] is False
