"""Prometheus metrics: requests and commands counted by a pure ASGI middleware, and the event
store's and projections' positions read from the database when `/metrics` is scraped.

Each app has its own `CollectorRegistry` (not the library's global one), so that several
apps in one process (the tests) do not share or double-register series.

- `tracker_http_requests_total{method,route,status}` and
  `tracker_http_request_duration_seconds{method,route}`: `route` is the route's template
  (`/api/v1/projects/{project_id}`), never the raw path, so ids do not explode the number
  of series; a request that matched no route is counted under `route="unmatched"`.
- `tracker_commands_total{command,result}`: every write route is a command (its
  operation id: `enter_phase`, `plan_milestone`…); `result` is `ok` (2xx), `refused`
  (4xx: a domain rule, a stale version, invalid fields, no right) or `error` (5xx).
- `tracker_events_appended_total`: the events in the store (its head position): the log
  is append-only, so this is a counter, and it counts every process's writes.
- `tracker_projection_position{projection}`, `tracker_projection_lag_events{projection}`,
  `tracker_projection_lag_seconds{projection}`.
- `tracker_webhook_state{webhook,state,last_error}`, `tracker_webhook_lag_events{webhook}`,
  `tracker_webhook_failed_attempts{webhook}`, `tracker_webhook_deliveries_total{webhook}`
  (docs/webhooks.md).
- `tracker_database_up`: 1 when the scrape could read the database.

The middleware sits outside the API's request-context middleware (it is added after it),
so it sees the final status, the 500 problem for an unexpected error included.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from projections.runner import status
from tracker.webhooks.deliverer import webhook_status

log = structlog.get_logger("tracker.api.metrics")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNMATCHED = "unmatched"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The app's registry and the series the middleware updates."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "tracker_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tracker_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.commands = Counter(
            "tracker_commands",
            "Commands received through the API, by command and result (ok, refused, error).",
            ["command", "result"],
            registry=self.registry,
        )


def _result(status: int) -> str:
    if status < 400:
        return "ok"
    return "refused" if status < 500 else "error"


def route_of(scope: Scope) -> tuple[str, str | None]:
    """The matched route's template and, for API routes, its operation id."""
    route = scope.get("route")
    if route is None:
        return UNMATCHED, None
    return str(getattr(route, "path", UNMATCHED)), getattr(route, "operation_id", None)


class MetricsMiddleware:
    """Count each HTTP request by route template and status, and time it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = str(scope.get("method", ""))
        route, operation = route_of(scope)
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.latency.labels(method, route).observe(seconds)
        if method in WRITE_METHODS and operation is not None and route != UNMATCHED:
            self.metrics.commands.labels(operation, _result(status)).inc()


class StoreCollector(Collector):
    """Reads the event store's head and the projections' positions at each scrape."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def describe(self) -> Iterable[Metric]:
        # Described as empty so that registering does not run a scrape against the database.
        return []

    def collect(self) -> Iterator[Metric]:
        services = getattr(self.app.state, "services", None)
        up = GaugeMetricFamily("tracker_database_up", "1 when /metrics could read the database.")
        if services is None:
            up.add_metric([], 0)
            yield up
            return
        try:
            families = list(_store_families(services))
        except Exception as error:  # a scrape must answer even when the database is down
            log.warning("metrics_store_unreadable", error=type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


def _store_families(services: Any) -> Iterator[Metric]:
    statuses = status(services)
    head = max((s.head for s in statuses), default=0)
    appended = CounterMetricFamily(
        "tracker_events_appended",
        "Events appended to the store (its head position), by every process.",
    )
    appended.add_metric([], head)
    yield appended
    position = GaugeMetricFamily(
        "tracker_projection_position",
        "The last event position each projection has applied.",
        labels=["projection"],
    )
    lag_events = GaugeMetricFamily(
        "tracker_projection_lag_events",
        "Events recorded but not yet applied, per projection.",
        labels=["projection"],
    )
    lag_seconds = GaugeMetricFamily(
        "tracker_projection_lag_seconds",
        "Age of the oldest event not yet applied, per projection (0 when caught up).",
        labels=["projection"],
    )
    for s in statuses:
        position.add_metric([s.name], s.position)
        lag_events.add_metric([s.name], s.lag_events)
        lag_seconds.add_metric([s.name], s.lag_seconds)
    yield from (position, lag_events, lag_seconds)
    yield from _webhook_families(services)


def _webhook_families(services: Any) -> Iterator[Metric]:
    statuses = webhook_status(services)
    state = GaugeMetricFamily(
        "tracker_webhook_state",
        "1 per subscription, labelled with its state (active, paused) and last error.",
        labels=["webhook", "state", "last_error"],
    )
    lag = GaugeMetricFamily(
        "tracker_webhook_lag_events",
        "Events of the log after a subscription's delivery position.",
        labels=["webhook"],
    )
    attempts = GaugeMetricFamily(
        "tracker_webhook_failed_attempts",
        "Failed attempts in a row on a subscription's next event (0 when healthy).",
        labels=["webhook"],
    )
    delivered = CounterMetricFamily(
        "tracker_webhook_deliveries",
        "Events a subscription's receiver accepted (2xx).",
        labels=["webhook"],
    )
    for s in statuses:
        state.add_metric([str(s.id), s.state, s.last_error or ""], 1)
        lag.add_metric([str(s.id)], s.lag_events)
        attempts.add_metric([str(s.id)], s.attempts)
        delivered.add_metric([str(s.id)], s.delivered)
    yield from (state, lag, attempts, delivered)


def install_metrics(app: FastAPI) -> Metrics:
    """Give `app` its registry, the store collector and the request-counting middleware."""
    metrics = Metrics()
    metrics.registry.register(StoreCollector(app))
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return metrics
