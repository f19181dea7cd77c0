"""`/docs`: Swagger UI served from the server itself (no CDN), off in production.

The assets come from the `swagger-ui-bundle-v2` package (Swagger UI 5, which reads the
OpenAPI 3.1 FastAPI produces), installed with tracker: nothing is fetched at run time.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle  # type: ignore[import-untyped]
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs/assets"


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at /docs with its assets under /docs/assets."""
    assets = Path(str(swagger_ui_bundle.swagger_ui_path))
    app.mount(ASSETS_URL, StaticFiles(directory=assets), name="swagger-ui-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """Swagger UI for this API."""
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
        )
