"""The web front (docs/web.md): French pages for people, served by `tracker serve` itself.

Server-rendered (Jinja2) pages whose data comes from the project's own GraphQL schema run
in-process, charts drawn on the server as SVG beside tables of the same numbers, one
stylesheet served from here, and no script: nothing is loaded from another origin.
"""

from __future__ import annotations

from functools import cache, partial
from importlib import resources

from fastapi import FastAPI
from starlette.responses import Response

from tracker.config.settings import Settings
from tracker.web.activities import activities_router
from tracker.web.changes import changes_router
from tracker.web.downloads import downloads_router
from tracker.web.forms import FormPages, forms_router
from tracker.web.funding import funding_router
from tracker.web.milestones import milestones_router
from tracker.web.oidc import METHOD, Provider, ProviderPages, ProviderSignIn, provider_router
from tracker.web.pages import Pages, local_path, router
from tracker.web.reading import QueryRunner
from tracker.web.rendering import Renderer
from tracker.web.session import Sessions, session_secret
from tracker.web.training import training_router

STYLESHEET = "tracker.css"


@cache
def _stylesheet() -> bytes:
    return (resources.files("tracker.web") / "static" / STYLESHEET).read_bytes()


async def stylesheet() -> Response:
    """The pages' one stylesheet."""
    return Response(
        _stylesheet(),
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


def install_web(app: FastAPI, settings: Settings, run: QueryRunner) -> None:
    """Mount the pages on `app`; `run` executes the GraphQL schema in-process."""
    secret = partial(session_secret, settings)
    sessions = Sessions(secret, settings.session_hours * 3600)
    renderer = Renderer()
    renderer.environment.globals["provider_name"] = None
    if settings.oidc_discovery_url and settings.oidc_client_id:
        provider = Provider(settings, settings.oidc_discovery_url, settings.oidc_client_id)
        sessions.methods[METHOD] = ProviderSignIn(provider)
        renderer.environment.globals["provider_name"] = provider.name
        app.include_router(
            provider_router(ProviderPages(provider, sessions, renderer, secret), local_path)
        )
    forms = FormPages(sessions, renderer, secret, settings.zone)
    app.include_router(forms_router(forms))
    pages = Pages(renderer, sessions, run)
    app.include_router(router(pages))
    app.include_router(activities_router(pages))
    app.include_router(training_router(pages))
    app.include_router(changes_router(pages))
    app.include_router(milestones_router(pages))
    app.include_router(funding_router(pages))
    app.include_router(downloads_router(pages))
    app.add_api_route(f"/static/{STYLESHEET}", stylesheet, methods=["GET"], include_in_schema=False)
