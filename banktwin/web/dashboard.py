"""Serve the dashboard's static files: ``/`` is its page, ``/ui/*`` its scripts and styles.

Neither needs a token (they hold no data) and neither is in the OpenAPI document."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
UI_PATH = "/ui"
CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"


def install_dashboard(app: FastAPI) -> None:
    """Mount the dashboard on ``app``: ``GET /`` answers its page, ``/ui`` its files."""
    index = STATIC_DIR / "index.html"

    @app.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        # Revalidated on every load, so a new build's page is never served from a stale cache;
        # only the dashboard's own files may run or be fetched (the page holds a token).
        return FileResponse(
            index, headers={"Cache-Control": "no-cache", "Content-Security-Policy": CSP}
        )

    app.mount(UI_PATH, StaticFiles(directory=STATIC_DIR), name="ui")
