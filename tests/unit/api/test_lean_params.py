"""Parameters a handler reads itself: same validation and same documentation as declared ones."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.testclient import TestClient
from pydantic import AwareDatetime

from banktwin.api.lean_params import LeanParam, lean_openapi, read_params
from banktwin.api.problems import install_problem_handlers

ITEM_ID: LeanParam[uuid.UUID] = LeanParam("itemId", "path", uuid.UUID)
AS_OF: LeanParam[datetime] = LeanParam(
    "asOf", "query", AwareDatetime | None, description="As of this time."
)


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/declared/{itemId}")
    def declared(
        itemId: uuid.UUID,  # noqa: N803
        as_of: Annotated[
            AwareDatetime | None, Query(alias="asOf", description="As of this time.")
        ] = None,
    ) -> dict[str, str | None]:
        return {"id": str(itemId), "asOf": None if as_of is None else as_of.isoformat()}

    @app.get("/lean/{itemId}", openapi_extra=lean_openapi(ITEM_ID, AS_OF, scope="items.read"))
    def lean(request: Request) -> dict[str, str | None]:
        item_id, as_of = read_params(request, ITEM_ID, AS_OF)
        return {"id": str(item_id), "asOf": None if as_of is None else as_of.isoformat()}

    return app


def test_documented_as_a_declared_parameter_would_be() -> None:
    paths = _app().openapi()["paths"]
    lean = paths["/lean/{itemId}"]["get"]
    assert lean["parameters"] == paths["/declared/{itemId}"]["get"]["parameters"]
    assert lean["security"] == [{"OAuth2": ["items.read"]}]


def test_values_and_errors_match_declared_parameters() -> None:
    client = TestClient(_app())
    item = str(uuid.uuid4())
    queries: list[dict[str, str]] = [
        {},
        {"asOf": "2025-09-15T14:00:00Z"},
        {"asOf": "2025-09-15T14:00:00"},
        {"asOf": ""},
    ]
    for query in queries:
        for bad_id in (item, "not-a-uuid"):
            lean = client.get(f"/lean/{bad_id}", params=query)
            declared = client.get(f"/declared/{bad_id}", params=query)
            assert lean.status_code == declared.status_code
            lean_body, declared_body = lean.json(), declared.json()
            lean_body.pop("instance", None)  # the problem's instance is the request path
            declared_body.pop("instance", None)
            assert lean_body == declared_body
    wrong = client.get("/lean/not-a-uuid")
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["field"] == "itemId"
