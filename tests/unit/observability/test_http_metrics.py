"""Request durations by route template, method and status: never the raw path."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from banktwin.observability.http_metrics import install_http_metrics, route_templates
from tests.unit.observability.samples import sample

DURATION = "banktwin_http_request_duration_seconds_count"


def an_app() -> FastAPI:
    router = APIRouter()

    @router.get("/things/{thingId}")
    def thing(thingId: str) -> dict[str, str]:  # noqa: N803 - the wire name
        return {"id": thingId}

    @router.get("/broken")
    def broken() -> None:
        raise RuntimeError("a bug")

    app = FastAPI()
    mounted = [("/v9", router)]
    for prefix, r in mounted:
        app.include_router(r, prefix=prefix)
    install_http_metrics(app, mounted)
    return app


def count(route: str, method: str, status: int) -> float:
    return sample(DURATION, route=route, method=method, status=str(status))


def test_a_request_is_counted_under_its_route_template_with_the_prefix() -> None:
    before = count("/v9/things/{thingId}", "GET", 200)
    with TestClient(an_app()) as client:
        assert client.get("/v9/things/CUST-4711").status_code == 200
        assert client.get("/v9/things/CUST-4712").status_code == 200
    assert count("/v9/things/{thingId}", "GET", 200) == before + 2


def test_a_path_no_route_matches_is_unmatched_and_the_raw_path_is_no_label() -> None:
    before = count("unmatched", "GET", 404)
    with TestClient(an_app()) as client:
        assert client.get("/v9/nothing/CUST-4711").status_code == 404
    assert count("unmatched", "GET", 404) == before + 1
    assert count("/v9/nothing/CUST-4711", "GET", 404) == 0


def test_a_known_route_with_another_method_is_counted_under_its_template() -> None:
    before = count("/v9/things/{thingId}", "DELETE", 405)
    with TestClient(an_app()) as client:
        assert client.delete("/v9/things/CUST-4711").status_code == 405
    assert count("/v9/things/{thingId}", "DELETE", 405) == before + 1


def test_an_unknown_method_is_counted_as_other() -> None:
    before = count("/v9/things/{thingId}", "OTHER", 405)
    with TestClient(an_app()) as client:
        assert client.request("BREW", "/v9/things/x").status_code == 405
    assert count("/v9/things/{thingId}", "OTHER", 405) == before + 1


def test_a_handler_that_raises_is_counted_as_a_500() -> None:
    before = count("/v9/broken", "GET", 500)
    with TestClient(an_app(), raise_server_exceptions=False) as client:
        assert client.get("/v9/broken").status_code == 500
    assert count("/v9/broken", "GET", 500) == before + 1


def test_the_duration_is_observed_in_seconds() -> None:
    labels = {"route": "/v9/things/{thingId}", "method": "GET", "status": "200"}
    before = sample("banktwin_http_request_duration_seconds_sum", **labels)
    with TestClient(an_app()) as client:
        client.get("/v9/things/x")
    spent = sample("banktwin_http_request_duration_seconds_sum", **labels) - before
    assert 0 < spent < 5


def test_templates_cover_the_apps_own_routes_and_the_mounted_ones() -> None:
    assert "/openapi.json" in set(route_templates(FastAPI(), []).values())
    router = APIRouter()

    @router.get("/x/{xId}")
    def x(xId: str) -> None:  # noqa: N803
        return None

    assert route_templates(FastAPI(), [("/v1", router)])[id(router.routes[0])] == "/v1/x/{xId}"
