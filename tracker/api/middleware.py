"""Pure ASGI middleware (no BaseHTTPMiddleware: it would buffer responses and break
contextvars): the request id and access log, and the body size limit."""

from __future__ import annotations

import os
import random
import re
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tracker.api.problems import problem_response

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_KEY = REQUEST_ID_HEADER.encode()  # encoded once, not per request and header
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,128}")

access_log = structlog.get_logger("tracker.access")
log = structlog.get_logger("tracker.api")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _new_id() -> str:
    # 128 random bits as 32 hex digits, like `uuid4().hex`, from the `random` module: a
    # request id correlates, it guards nothing, and `os.urandom` (under `uuid4`) releases
    # the GIL for its system call, so the event loop then waits for a worker thread to
    # give the GIL back before it can answer anything else.
    return f"{random.getrandbits(128):032x}"


class RequestContextMiddleware:
    """Accept a valid X-Request-ID or make one; bind it to every log line of the request,
    echo it, log one access line, and turn any unexpected exception into a generic 500
    problem (the traceback goes to the log with the request id, never to the client)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = _header(scope, _REQUEST_ID_KEY)
        request_id = offered if offered and REQUEST_ID_PATTERN.fullmatch(offered) else _new_id()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_request_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != _REQUEST_ID_KEY]
                headers.append((_REQUEST_ID_KEY, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_request_id)
            except Exception:
                log.exception("unhandled_error", path=scope.get("path"))
                if response_started:
                    raise
                response = problem_response(
                    None,
                    500,
                    "an unexpected error occurred; quote the request id when reporting it",
                    code="internal-error",
                    request_id=request_id,
                    instance=scope.get("path"),
                    accept_language=_header(scope, b"accept-language"),
                )
                await response(scope, receive, send_with_request_id)
            finally:
                route = scope.get("route")
                access_log.info(
                    "request",
                    method=scope.get("method"),
                    route=getattr(route, "path", None) or scope.get("path"),
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    pid=os.getpid(),  # which worker of `tracker serve --workers N`
                )


class BodySizeLimitMiddleware:
    """Refuse bodies over `max_bytes` with 413, whether announced by Content-Length or
    streamed in chunks: the body is read (up to the limit) before the app sees it, so an
    oversized body never reaches a route, and never half-reaches one."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_bytes
            except ValueError:
                await self._refuse(scope, receive, send, 400, "Content-Length is not a number")
                return
            if too_large:
                await self._refuse_too_large(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away before sending the whole body.
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse_too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse_too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._refuse(
            scope, receive, send, 413, f"the body is larger than {self.max_bytes} bytes"
        )

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, detail: str
    ) -> None:
        state: dict[str, Any] = scope.get("state", {})
        response = problem_response(
            None,
            status,
            detail,
            request_id=state.get("request_id"),
            instance=scope.get("path"),
            headers={"Connection": "close"},
            accept_language=_header(scope, b"accept-language"),
        )
        await response(scope, receive, send)
