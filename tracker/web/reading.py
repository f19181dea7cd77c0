"""The pages' GraphQL: each page's query text (tracker/web/queries/*.graphql), run
in-process as the signed-in principal by the runner `tracker/asgi.py` hands over."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any, Protocol

from tracker.application.access import Principal
from tracker.application.services import Services


class Answer(Protocol):
    """A GraphQL answer: `data`, and each error as (message, `extensions.code`)."""

    @property
    def data(self) -> Mapping[str, Any] | None: ...

    @property
    def errors(self) -> tuple[tuple[str, str], ...]: ...


QueryRunner = Callable[[Services, Principal, str, Mapping[str, Any] | None], Awaitable[Answer]]


class QueryFailedError(Exception):
    """The schema answered with errors (shown to the reader with their codes)."""

    def __init__(self, errors: tuple[tuple[str, str], ...]) -> None:
        super().__init__("; ".join(f"{code}: {message}" for message, code in errors))
        self.errors = errors


@cache
def query_text(name: str) -> str:
    """The text of `queries/<name>.graphql`, as the page shows it."""
    return (resources.files("tracker.web") / "queries" / f"{name}.graphql").read_text("utf-8")


async def read(
    run: QueryRunner,
    services: Services,
    principal: Principal,
    name: str,
    variables: Mapping[str, Any],
) -> Mapping[str, Any]:
    """The data of the query `name` with `variables`; QueryFailedError on any error."""
    answer = await run(services, principal, query_text(name), variables)
    if answer.errors or answer.data is None:
        raise QueryFailedError(answer.errors)
    return answer.data
