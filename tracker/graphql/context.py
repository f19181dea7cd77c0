"""Each GraphQL request's context: the caller, today's date, and one set of DataLoaders.

The context getter authenticates the bearer token and honours `X-Min-Position` before any
resolver runs, both off the event loop (worker threads). A failed check does not raise
here: it is recorded on the context with the HTTP status to answer, and every root field
then fails with the matching `extensions.code`, so the body stays a GraphQL response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import Request, Response
from sqlalchemy import Engine, RowMapping
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from projections import queries as reads
from projections.reading import read_engine
from projections.runner import Projector, wait_for_position
from tracker.application.access import Principal, authenticate
from tracker.application.services import Services

K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")
MIN_POSITION_HEADER = "x-min-position"


def loader(engine: Engine, fetch: Callable[[Engine, Sequence[K]], Sequence[V]]) -> DataLoader[K, V]:
    """A DataLoader whose batch runs `fetch(engine, keys)` in a worker thread."""

    async def load(keys: list[K]) -> Sequence[V]:
        return await anyio.to_thread.run_sync(fetch, engine, keys)

    return DataLoader(load_fn=load)


@dataclass
class Loaders:
    """One per request: each batches every lookup of a resolver tick into one statement."""

    project: DataLoader[str, RowMapping | None]
    lab: DataLoader[str, RowMapping | None]
    milestone: DataLoader[tuple[str, str], RowMapping | None]
    milestones: DataLoader[str, list[RowMapping]]
    phase_periods: DataLoader[str, list[RowMapping]]
    activities: DataLoader[str, list[RowMapping]]
    funding: DataLoader[str, list[RowMapping]]
    indicators: DataLoader[str, list[RowMapping]]

    @classmethod
    def open(cls, engine: Engine) -> Loaders:
        return cls(
            project=loader(engine, reads.projects_by_id),
            lab=loader(engine, reads.labs_by_slug),
            milestone=loader(engine, reads.milestones_by_key),
            milestones=loader(engine, reads.milestones_of),
            phase_periods=loader(engine, reads.phase_periods_of),
            activities=loader(engine, reads.activities_of),
            funding=loader(engine, reads.funding_of),
            indicators=loader(engine, reads.indicators_of),
        )


@dataclass
class Refusal:
    """Why every field of this request fails, with the HTTP status to answer."""

    code: str
    message: str
    status: int


class Context(BaseContext):
    """What resolvers see as `info.context`."""

    def __init__(
        self,
        services: Services,
        engine: Engine,
        today: date,
        principal: Principal | None,
        refusal: Refusal | None,
    ) -> None:
        super().__init__()
        self.services = services
        self.engine = engine
        self.today = today
        self.principal = principal
        self.refusal = refusal
        self.loaders = Loaders.open(engine)
        # Rows this request already read, by loader name then key (`remember`).
        self.known: dict[str, dict[Any, Any]] = {}

    async def run(self, function: Callable[..., V], *args: Any) -> V:
        """Run a blocking read in a worker thread."""
        return await anyio.to_thread.run_sync(function, *args)

    def remember(self, related: Mapping[str, Mapping[Any, Any]]) -> None:
        """Keep rows a root resolver read ahead for nested fields (loader name → key → value,
        as `reads.related_rows` gives them): `resolve` then answers them at once."""
        for name, values in related.items():
            self.known.setdefault(name, {}).update(values)

    def resolve(self, name: str, key: Any, build: Callable[[Any], R]) -> R | Awaitable[R]:
        """`build` of the value the loader `name` gives for `key`: at once, synchronously, if
        this request already read it (`remember`), else through the DataLoader (batched, in
        a worker thread) as an awaitable.

        A nested field's resolver returns this as it is: graphql-core completes a plain
        value in place, while every awaitable costs it a task and a gather, per node.
        """
        known = self.known.get(name)
        if known is not None and key in known:
            return build(known[key])
        loader: DataLoader[Any, Any] = getattr(self.loaders, name)
        return _built(loader.load(key), build)


async def _built(pending: Awaitable[V], build: Callable[[V], R]) -> R:
    return build(await pending)


@dataclass
class _Checked:
    principal: Principal | None = None
    refusal: Refusal | None = field(default=None)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _min_position(request: Request) -> int | Refusal | None:
    raw = request.headers.get(MIN_POSITION_HEADER)
    if raw is None:
        return None
    if not raw.strip().isdigit() or len(raw.strip()) > 18:
        return Refusal("BAD_USER_INPUT", f"X-Min-Position must be a position, got {raw!r}", 400)
    return int(raw.strip())


async def get_context(request: Request, response: Response) -> Context:
    """Authenticate, wait for `X-Min-Position` if asked, and build the request's context."""
    services: Services = request.app.state.services
    projector: Projector | None = getattr(request.app.state, "projector", None)
    settings = services.settings
    checked = _Checked()
    raw_token = _bearer(request)
    if raw_token is None:
        checked.refusal = Refusal("UNAUTHENTICATED", "send a bearer token", 401)
    else:
        checked.principal = await anyio.to_thread.run_sync(
            authenticate, read_engine(services), raw_token
        )
        if checked.principal is None:
            checked.refusal = Refusal(
                "UNAUTHENTICATED", "this token is unknown, revoked or expired", 401
            )
    if checked.refusal is None:
        wanted = _min_position(request)
        if isinstance(wanted, Refusal):
            checked.refusal = wanted
        elif wanted is not None:
            timeout = settings.min_position_timeout_seconds
            reached = await anyio.to_thread.run_sync(
                wait_for_position, services, wanted, timeout, projector
            )
            if not reached:
                checked.refusal = Refusal(
                    "PROJECTION_LAG",
                    f"the projections did not reach position {wanted} within {timeout:g} s: "
                    "retry later",
                    503,
                )
    if checked.refusal is not None:
        response.status_code = checked.refusal.status
        if checked.refusal.status == 503:
            response.headers["Retry-After"] = "1"
    return Context(
        services=services,
        engine=read_engine(services),
        today=datetime.now(settings.zone).date(),
        principal=checked.principal,
        refusal=checked.refusal,
    )


ContextGetter = Callable[[Request, Response], Awaitable[Context]]
