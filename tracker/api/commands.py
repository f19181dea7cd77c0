"""What every write route shares: the request models' base, the answer, and `execute`.

`execute` runs one command of the application with the request's metadata (the token id
as actor, the request id as correlation id, `occurred_on`), `If-Match` and
`Idempotency-Key`, and turns its result into the answer the contract promises.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

import structlog
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model, model_validator

from tracker.api.deps import WriteContext
from tracker.api.problems import ProblemError
from tracker.application.commands import CREATED_FIELDS, Command
from tracker.application.idempotency import (
    CompletionWrite,
    StoredResponse,
    fingerprint,
)
from tracker.application.idempotency import (
    IdempotencyKeyInProgressError as _InProgress,
)
from tracker.application.idempotency import (
    IdempotencyKeyReusedError as _Reused,
)
from tracker.application.service import WriteOptions

log = structlog.get_logger("tracker.api")

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TEXT_MAX = 2000


def _iso_date_only(value: object) -> object:
    # Pydantic's lax mode would read 1700000000 or "2025-01-01T10:00" as dates: refuse them.
    if isinstance(value, str) and not ISO_DATE.fullmatch(value):
        raise ValueError("expected an ISO 8601 date, YYYY-MM-DD")
    if not isinstance(value, str | date):
        raise ValueError("expected an ISO 8601 date, YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]

ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*")


def _iso_instant_only(value: object) -> object:
    # Lax mode would read 1700000000 (or 2.3e-13) as a Unix time: refuse anything but ISO.
    if (isinstance(value, str) and ISO_INSTANT.fullmatch(value)) or isinstance(value, datetime):
        return value
    raise ValueError("expected an ISO 8601 instant, like 2025-11-04T09:00:00+00:00")


IsoInstant = Annotated[datetime, BeforeValidator(_iso_instant_only)]
Title = Annotated[str, Field(min_length=1, max_length=200, strict=True)]
Text = Annotated[str, Field(max_length=TEXT_MAX, strict=True)]
Reason = Annotated[str | None, Field(default=None, max_length=TEXT_MAX, strict=True)]
Number = Annotated[float, Field(allow_inf_nan=False, ge=-1e15, le=1e15)]


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _refuse_control_characters(value: object, where: str = "body") -> None:
    # NUL and other control characters have no place in a lab's text, and PostgreSQL's
    # text columns (the read models) refuse NUL: stop them at the edge, before the log.
    if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
        raise ValueError(f"{where} holds a control character")
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_control_characters(item, str(key))
    elif isinstance(value, list):
        for item in value:
            _refuse_control_characters(item, where)


class CommandBody(BaseModel):
    """Fields every write accepts: the business date and the reason."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_control_characters(cls, data: object) -> object:
        _refuse_control_characters(data)
        return data

    occurred_on: IsoDate | None = Field(
        default=None, description="The business date (default: today; never in the future)."
    )
    reason: Reason = Field(default=None, description="Why: recorded on the event.")


class _Answer(BaseModel):
    id: str = Field(examples=["3f0c9a52-7d1e-4b8a-9c61-2e5d8f4a1b07"])
    version: int = Field(examples=[4])
    position: int = Field(
        description="Send as X-Min-Position to GraphQL to read this write.", examples=[1042]
    )


CommandAnswer = create_model(
    "CommandAnswer",
    __base__=_Answer,
    __doc__="A write's answer: the aggregate, its new version, and its last event's position;"
    " a command that creates an entity names it (`milestone_id`, `partner_id`…).",
    # One optional field per `created` name of the command table.
    **dict.fromkeys(CREATED_FIELDS, (str | None, None)),  # type: ignore[call-overload]
)


def _render(
    status_code: int, location: str | None, created: dict[str, str]
) -> Callable[[str, int, int], StoredResponse]:
    def render(aggregate_id: str, version: int, position: int) -> StoredResponse:
        headers = {"ETag": f'"{version}"'}
        if location is not None:
            headers["Location"] = location
        body: dict[str, Any] = {"id": aggregate_id, "version": version, "position": position}
        return StoredResponse(status_code, body | created, headers)

    return render


def _respond(stored: StoredResponse, replayed: bool = False) -> JSONResponse:
    headers = dict(stored.headers)
    if replayed:
        headers["Idempotency-Replayed"] = "true"
    return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)


def execute(
    context: WriteContext,
    body: CommandBody | None,
    command: Command,
    *,
    status_code: int = 200,
    location: str | None = None,
) -> JSONResponse:
    """Run `command` once (or replay its first answer) and answer the contract's way.

    The id of an entity the command creates is chosen up front (`Command.created_id`), so
    that the answer, replays included, can be built from the events' transaction alone.
    """
    created_id = command.created_id()
    created = {command.created: created_id} if command.created and created_id else {}
    render = _render(status_code, location, created)
    application = context.application
    meta = application.meta(
        context.principal.token_id, context.request_id, body.occurred_on if body else None
    )
    if context.idempotency_key is None:
        result = application.execute(
            command, meta, WriteOptions(expected_version=context.expected_version)
        )
        return _respond(render(str(result.id), result.version, result.position))

    request_fingerprint = fingerprint(
        context.method, context.path, body.model_dump(mode="json") if body else {}
    )
    try:
        outcome = context.idempotency.reserve(
            context.engine,
            context.principal.token_id,
            context.idempotency_key,
            request_fingerprint,
        )
    except _Reused as error:
        raise ProblemError(422, str(error), code="idempotency-key-reused") from None
    except _InProgress as error:
        raise ProblemError(409, str(error), code="idempotency-key-in-progress") from None
    if isinstance(outcome, StoredResponse):
        return _respond(outcome, replayed=True)
    options = WriteOptions(
        expected_version=context.expected_version,
        side_writes=[CompletionWrite(outcome, render)],
    )
    try:
        result = application.execute(command, meta, options)
    except BaseException:
        try:
            context.idempotency.release(context.engine, outcome)
        except Exception:
            # The lease lets a retry take the reservation over; the command's error matters.
            log.warning("idempotency_release_failed", exc_info=True)
        raise
    return _respond(render(str(result.id), result.version, result.position))
