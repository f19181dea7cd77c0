"""Content negotiation: which format a route answers in, from `?format=` or `Accept`.

A route that offers spreadsheets (`SPREADSHEET_FORMATS`) picks one with `negotiate`; every
other API route answers JSON only, and `json_only` (installed on every router by
tracker/api/routes.py) refuses with 406 an `Accept` that excludes JSON (`Accept:
text/csv` used to get JSON silently). A 406 lists the formats the route knows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from fastapi import Request
from fastapi.responses import Response

from tracker.api.problems import ProblemError
from tracker.exports.sheets import Table
from tracker.exports.spreadsheets import WRITERS, filename

JSON = "application/json"
NDJSON = "application/x-ndjson"
CSV = "text/csv"
JSON_RANGES = frozenset({"*/*", "application/*", JSON, "application/problem+json"})

FORMATS: dict[str, str] = {"json": JSON, "ndjson": NDJSON, "csv": CSV} | {
    name: media for name, (media, _) in WRITERS.items()
}
"""Every format a route offers, by its name (`?format=` for the lists): its media type."""

NEGOTIATING_ROUTES: set[str] = set()
"""Operation ids of the routes that read `Accept` themselves (`json_only` skips them)."""


def negotiates(operation_id: str) -> str:
    """Mark a route as choosing its own format; returns the operation id for its decorator."""
    NEGOTIATING_ROUTES.add(operation_id)
    return operation_id


def _ranges(accept: str) -> list[str]:
    """The media ranges of an `Accept` header, most wanted first (q=0 left out)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            if param.lower().startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            weighted.append((-quality, index, media.lower()))
    return [media for _, _, media in sorted(weighted)]


def _not_acceptable(what: str, known: Sequence[str]) -> ProblemError:
    names = ", ".join(f"{name} ({FORMATS.get(name, name)})" for name in known)
    return ProblemError(
        406, f"{what} is not a format of this route: it answers {names}", code="not-acceptable"
    )


def negotiate(request: Request, format_name: str | None, known: Sequence[str]) -> str:
    """The format to answer in: `?format=` if given, else the first `Accept` range known."""
    if format_name is not None:
        if format_name not in known:
            raise _not_acceptable(f"format {format_name!r}", known)
        return format_name
    accept = request.headers.get("accept")
    if not accept:
        return known[0]
    for media in _ranges(accept):
        if media in JSON_RANGES:
            return "json"
        for name in known:
            if FORMATS.get(name) == media:
                return name
    raise _not_acceptable(f"Accept: {accept}", known)


def require_accepted(request: Request, format_name: str) -> None:
    """Refuse (406) an `Accept` that excludes the one format a route answers in."""
    media = FORMATS[format_name]
    accept = request.headers.get("accept")
    wanted = {"*/*", media.split("/")[0] + "/*", media}
    if accept and not wanted & set(_ranges(accept)):
        raise _not_acceptable(f"Accept: {accept}", [format_name])


async def json_only(request: Request) -> None:
    """Refuse (406) an `Accept` without JSON on a route that answers JSON only."""
    route = request.scope.get("route")
    if getattr(route, "operation_id", None) in NEGOTIATING_ROUTES:
        return
    accept = request.headers.get("accept")
    if accept and not any(media in JSON_RANGES for media in _ranges(accept)):
        raise _not_acceptable(f"Accept: {accept}", ["json"])


def spreadsheet_response(
    tables: Sequence[Table], format_name: str, stem: str, on: date
) -> Response:
    """The tables as a spreadsheet download in `format_name` (`xlsx` or `ods`)."""
    media, write = WRITERS[format_name]
    name = filename(stem, format_name, on)
    return Response(
        write(tables),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
