"""Operations endpoints: liveness, readiness and Prometheus metrics (no token needed).

- `/healthz` answers while the process runs: a load balancer restarts it when it does not.
- `/readyz` answers 200 only when this process can serve correct answers: the database
  answers, its schema is at the newest migration, and every projection is at most
  `TRACKER_READINESS_MAX_LAG_EVENTS` events behind the log. Otherwise 503 problem+json
  whose `detail` gives the first reason and `checks` every check's result, so a load
  balancer takes the process out of rotation until it catches up.
- `/metrics` is the Prometheus text format (see tracker/metrics.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from projections.runner import status
from tracker.application.services import Services
from tracker.config.settings import Settings
from tracker.store import migrate
from tracker.store.migrate import head_revision

PROBLEM_JSON = "application/problem+json"
NOT_READY_TYPE = "urn:tracker:problem:not-ready"

router = APIRouter(tags=["operations"])


def _services(request: Request) -> Services | None:
    return getattr(request.app.state, "services", None)


ServicesDep = Annotated[Services | None, Depends(_services)]


_heads: dict[str, str | None] = {}


def _head(settings: Settings) -> str | None:
    # The migrations directory does not change while the process runs: read it once.
    if "head" not in _heads:
        _heads["head"] = head_revision(settings)
    return _heads["head"]


@router.get("/healthz", operation_id="healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


def readiness(services: Services) -> tuple[list[str], dict[str, Any]]:
    """Run the readiness checks: the reasons it is not ready (none when ready), and details."""
    reasons: list[str] = []
    checks: dict[str, Any] = {}
    settings = services.settings
    try:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = migrate.database_revision(connection)
    except Exception as error:
        checks["database"] = f"unreachable: {type(error).__name__}"
        return [f"the database is unreachable ({type(error).__name__})"], checks
    checks["database"] = "ok"
    signer = services.application.signer
    # Informational, never a reason to refuse traffic: a store may run unsigned by choice.
    checks["history"] = (
        f"signed (key {signer.key_id})"
        if signer is not None
        else "unsigned: no signing key (TRACKER_AUDIT_SIGNING_KEY_FILE)"
    )
    head = _head(settings)
    checks["migrations"] = {"current": current, "head": head}
    if current != head:
        reasons.append(
            f"the database is at migration {current or 'none'}, not {head}: run `tracker migrate`"
        )
        return reasons, checks

    limit = settings.readiness_max_lag_events
    lags: dict[str, Any] = {}
    for projection in status(services):
        lags[projection.name] = {
            "position": projection.position,
            "lag_events": projection.lag_events,
        }
        if projection.lag_events > limit:
            reasons.append(
                f"projection {projection.name} is {projection.lag_events} events behind "
                f"(at most {limit} allowed)"
            )
    checks["projections"] = lags
    return reasons, checks


@router.get(
    "/readyz",
    operation_id="readyz",
    responses={
        503: {
            "description": "Not ready: the database, migrations or projection lag (a problem "
            "whose `checks` give every check's result).",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    },
)
def readyz(services: ServicesDep) -> JSONResponse:
    """Readiness: database reachable, migrations at head, projections caught up enough."""
    checks: dict[str, Any] = {}
    if services is None:
        reasons = ["the application is starting"]
    else:
        reasons, checks = readiness(services)
    if not reasons:
        return JSONResponse({"status": "ready", "checks": checks})
    body = {
        "type": NOT_READY_TYPE,
        "title": "Service Unavailable",
        "status": 503,
        "detail": "; ".join(reasons),
        "checks": checks,
    }
    return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON)


@router.get(
    "/metrics",
    operation_id="metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text exposition format.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def metrics(request: Request) -> Response:
    """Prometheus metrics: requests, commands, events appended, projection positions and lag."""
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
