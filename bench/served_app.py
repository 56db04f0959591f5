"""The app the HTTP benchmark serves: banktwin's own, plus one trivial endpoint that is the
baseline (a constant 315-byte JSON body, no auth, no I/O), served by the same process."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import Response

from banktwin.api.app import create_app
from banktwin.config import load_settings

TRIVIAL_BODY = b'{"status":"ok","service":"banktwin","detail":"' + b"x" * 267 + b'"}'


def create_bench_app() -> FastAPI:
    app = create_app(load_settings())

    @app.get("/bench/trivial", include_in_schema=False)
    async def trivial() -> Response:
        return Response(TRIVIAL_BODY, media_type="application/json")

    return app
