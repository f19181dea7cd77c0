"""How the API's routers are made: JSON only, and routes that skip FastAPI's dependency
solver when a request is regular.

FastAPI solves a route's dependency tree on every request, and pays generic bookkeeping for
each node (cache keys, scope checks, generator checks, four parameter extractions, a
`Response` to collect headers...), even when a node's value is already cached. For a write
(the caller, the role, the project and its lab, `If-Match`, `Idempotency-Key`: 12 nodes)
that was the largest share of the edge's CPU (docs/benchmarks.md, "Where a command's CPU
goes"). `DirectRoute` keeps every route as declared (its signature, its OpenAPI document,
its dependencies) and answers a request in one of two ways:

- **directly**, when the route's dependencies are plain `async` functions of the request,
  other dependencies and parameters (the kinds tracker/api/deps.py has), its body is one
  JSON model and its endpoint returns a `Response`: the same dependency functions are
  called in the same order, each once per request, the parameters and the body are
  validated by FastAPI's own functions (`request_params_to_args`, `request_body_to_args`),
  and the endpoint runs as FastAPI runs it, a plain `def` in a worker thread (the app's
  `command_threads` executor, opened by its lifespan in tracker/asgi.py: a hop through
  asyncio's executor costs a third of anyio's, which `run_in_threadpool` uses);
- **by FastAPI's own handler**, unchanged, at the first thing that is not plain success: a
  dependency that raises (no token, a wrong role or lab, an unknown id, a malformed
  header, a refused `Accept`), a parameter or body that does not validate, a body that is
  not JSON, dependency overrides. FastAPI then solves everything again and answers exactly
  as it always did: the errors, their order (401, then 403/404, then 400) and their bodies
  are FastAPI's.

So the dependencies of a `DirectRoute` must not write anything but caches: on a refused
request they run twice (a principal and a project's lab are remembered, nothing else).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import typing
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from enum import Enum
from typing import Any

from fastapi import APIRouter, Depends
from fastapi._compat import ModelField
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_body_to_args, request_params_to_args
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tracker.api.formats import json_only

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class _Irregular(Exception):
    """Something FastAPI's handler must answer (an error, or a case the direct path skips)."""


@dataclass(frozen=True)
class _Node:
    """A dependency (or the endpoint), with what it takes, compiled once per route."""

    call: Callable[..., Any]
    name: str | None
    use_cache: bool
    dependencies: tuple[_Node, ...]
    params: tuple[tuple[str, Sequence[ModelField]], ...]  # (where, fields), non-empty only
    request_names: tuple[str, ...]  # the parameters that receive the request itself

    async def solve(self, request: Request, cache: dict[Any, Any]) -> dict[str, Any]:
        """The keyword arguments of `call` for this request (raises `_Irregular`)."""
        values: dict[str, Any] = {}
        for node in self.dependencies:
            if node.use_cache and node.call in cache:
                value = cache[node.call]
            else:
                arguments = await node.solve(request, cache)
                try:
                    value = await node.call(**arguments)
                except Exception:
                    raise _Irregular from None
                cache.setdefault(node.call, value)
            if node.name is not None:
                values[node.name] = value
        for where, fields in self.params:
            params, errors = request_params_to_args(fields, _RECEIVED[where](request))
            if errors:
                raise _Irregular
            values.update(params)
        for name in self.request_names:
            values[name] = request
        return values


_RECEIVED: dict[str, Callable[[Request], Any]] = {
    "path": lambda request: request.path_params,
    "query": lambda request: request.query_params,
    "header": lambda request: request.headers,
    "cookie": lambda request: request.cookies,
}


def _is_async(call: Callable[..., Any]) -> bool:
    function = call if inspect.isroutine(call) else getattr(call, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(function) and not inspect.isasyncgenfunction(function)


def _compile(dependant: Dependant, *, endpoint: bool = False) -> _Node | None:
    """The node of `dependant`, or None if it needs what only FastAPI's solver does."""
    if dependant.call is None or (dependant.body_params and not endpoint):
        return None
    if (
        dependant.websocket_param_name
        or dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
        or dependant.own_oauth_scopes
        or dependant.parent_oauth_scopes
        or dependant.concurrency is not None
        or (not endpoint and not _is_async(dependant.call))
    ):
        return None
    dependencies = tuple(_compile(sub) for sub in dependant.dependencies)
    if any(node is None for node in dependencies):
        return None
    params = (
        ("path", dependant.path_params),
        ("query", dependant.query_params),
        ("header", dependant.header_params),
        ("cookie", dependant.cookie_params),
    )
    return _Node(
        call=dependant.call,
        name=dependant.name,
        use_cache=dependant.use_cache,
        dependencies=typing.cast(tuple[_Node, ...], dependencies),
        params=tuple((where, fields) for where, fields in params if fields),
        request_names=tuple(
            name
            for name in (dependant.request_param_name, dependant.http_connection_param_name)
            if name
        ),
    )


def _returns_response(endpoint: Callable[..., Any]) -> bool:
    try:
        returned = typing.get_type_hints(endpoint).get("return")
    except (NameError, TypeError):
        return False
    return inspect.isclass(returned) and issubclass(returned, Response)


async def _json_body(request: Request) -> Any:
    """The body as FastAPI reads it for a JSON model, when it is plainly JSON."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise _Irregular  # FastAPI decides: another media type, or none
    try:
        if not await request.body():
            raise _Irregular  # no body: FastAPI's 422
        return await request.json()  # kept on the request: FastAPI reads the same
    except Exception:  # a client gone, malformed JSON, nested too deep: FastAPI's answer
        raise _Irregular from None


class DirectRoute(APIRoute):
    """An API route answered without FastAPI's dependency solver when it can be (above)."""

    def get_route_handler(self) -> Handler:
        standard = super().get_route_handler()
        node = self.direct_plan()
        return standard if node is None else _direct_handler(self, node, standard)

    def direct_plan(self) -> _Node | None:
        """How a regular request is answered directly, or None: always by FastAPI."""
        if len(self.dependant.body_params) > 1 or self._embed_body_fields:
            return None
        if not _returns_response(self.endpoint):
            return None  # FastAPI serialises other answers with the response model
        return _compile(self.dependant, endpoint=True)


def _direct_handler(route: DirectRoute, node: _Node, standard: Handler) -> Handler:
    body_fields = list(route.dependant.body_params)
    endpoint = route.dependant.call
    assert endpoint is not None
    is_coroutine = inspect.iscoroutinefunction(endpoint)

    async def handler(request: Request) -> Response:
        if request.app.dependency_overrides:
            return await standard(request)
        try:
            values = await node.solve(request, {})
            if body_fields:
                received = await _json_body(request)
                try:
                    body, errors = await request_body_to_args(
                        body_fields=body_fields, received_body=received, embed_body_fields=False
                    )
                except Exception:
                    raise _Irregular from None
                if errors:
                    raise _Irregular
                values.update(body)
        except _Irregular:
            return await standard(request)
        if is_coroutine:
            response: Response = await endpoint(**values)
            return response
        threads: Executor | None = getattr(request.app.state, "command_threads", None)
        if threads is None:
            return await run_in_threadpool(endpoint, **values)
        # One hop to a worker thread, with the request's context (its log fields), as
        # `run_in_threadpool` does, at a third of its cost (docs/benchmarks.md).
        call = functools.partial(contextvars.copy_context().run, endpoint, **values)
        return await asyncio.get_running_loop().run_in_executor(threads, call)

    return handler


def api_router(prefix: str, tags: list[str | Enum]) -> APIRouter:
    """A router of the REST API: JSON only unless a route negotiates (tracker/api/formats.py),
    its routes answered directly when they can be."""
    return APIRouter(
        prefix=prefix, tags=tags, dependencies=[Depends(json_only)], route_class=DirectRoute
    )
