"""GraphQL for dashboards: Strawberry types and resolvers over the read models.

`POST /graphql` answers queries. In development, a browser's `GET /graphql` gets GraphiQL,
served with its scripts from this server (`/graphql/assets/...`): Strawberry's own page
loads them from a public CDN (docs/design-notes.md §10), which a deployment without internet would
show blank. The files come from the `graphene-django-graphiql-static` wheel, which bundles
GraphiQL, React and their CSS as plain files (it needs no Django to be read as data).
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from tracker.config.settings import Settings
from tracker.graphql.context import Context, get_context
from tracker.graphql.schema import build_schema

ASSETS_PACKAGE = "graphene_django_graphiql_static"
ASSET_TYPES = {
    "react.production.min.js": "text/javascript",
    "react-dom.production.min.js": "text/javascript",
    "graphiql.min.js": "text/javascript",
    "graphiql.min.css": "text/css",
}

GRAPHIQL_PAGE = """<!doctype html>
<html lang="fr">
<head>
  <meta charset="utf-8">
  <title>tracker · GraphiQL</title>
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
  <link rel="stylesheet" href="/graphql/assets/graphiql.min.css">
  <script src="/graphql/assets/react.production.min.js"></script>
  <script src="/graphql/assets/react-dom.production.min.js"></script>
  <script src="/graphql/assets/graphiql.min.js"></script>
</head>
<body>
  <div id="graphiql">Chargement…</div>
  <script>
    const fetcher = GraphiQL.createFetcher({ url: "/graphql" });
    ReactDOM.render(
      React.createElement(GraphiQL, {
        fetcher,
        headerEditorEnabled: true,
        defaultHeaders: '{"Authorization": "Bearer <token>"}',
      }),
      document.getElementById("graphiql"),
    );
  </script>
</body>
</html>
"""


class DashboardRouter(GraphQLRouter[Context, None]):
    """Strawberry's router, with a GraphiQL page that loads nothing from elsewhere."""

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(GRAPHIQL_PAGE)


def asset(name: str) -> Response:
    """One of GraphiQL's bundled files."""
    media_type = ASSET_TYPES.get(name)
    if media_type is None:
        raise HTTPException(status_code=404)
    path = resources.files(ASSETS_PACKAGE) / "static" / ASSETS_PACKAGE / name
    return Response(
        path.read_bytes(),
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400"},
    )


def install_graphql(app: FastAPI, settings: Settings) -> None:
    """Mount `/graphql` on `app` (and, in development, GraphiQL with its assets)."""
    router = DashboardRouter(
        build_schema(settings),
        context_getter=get_context,
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=False,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
    )
    app.include_router(router, prefix="/graphql")
    if not settings.is_production:
        app.add_api_route("/graphql/assets/{name}", asset, methods=["GET"], include_in_schema=False)
