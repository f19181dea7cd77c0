"""The schema executed in-process, for the web pages (tracker/web, docs/web.md).

A page reads its data with the same GraphQL text a dashboard would send to `/graphql`,
through the same schema, permissions and limits, for a principal the web session already
authenticated: no HTTP hop, no second query layer. `tracker/asgi.py` builds a runner here
and hands it to the web edge, which does not import this package (the two edges are
independent layers: pyproject.toml, [tool.importlinter]).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import strawberry

from projections.reading import read_engine
from tracker.application.access import Principal
from tracker.application.services import Services
from tracker.graphql.context import Context


@dataclass(frozen=True)
class QueryAnswer:
    """What the schema answered: `data`, and each error's message and `extensions.code`."""

    data: Mapping[str, Any] | None
    errors: tuple[tuple[str, str], ...]


QueryRunner = Callable[[Services, Principal, str, Mapping[str, Any] | None], Awaitable[QueryAnswer]]


def in_process_runner(schema: strawberry.Schema) -> QueryRunner:
    """A function that runs one query of `schema` as `principal` would over HTTP."""

    async def run(
        services: Services,
        principal: Principal,
        query: str,
        variables: Mapping[str, Any] | None,
    ) -> QueryAnswer:
        context = Context(
            services=services,
            engine=read_engine(services),
            today=datetime.now(services.settings.zone).date(),
            principal=principal,
            refusal=None,
        )
        result = await schema.execute(
            query, variable_values=dict(variables or {}), context_value=context
        )
        errors = tuple(
            (error.message, str((error.extensions or {}).get("code", "INTERNAL_SERVER_ERROR")))
            for error in result.errors or ()
        )
        return QueryAnswer(data=result.data, errors=errors)

    return run
