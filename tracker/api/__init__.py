"""The REST API: one router per resource, auth, problem+json and idempotency at the edge."""

from __future__ import annotations

from fastapi import FastAPI

from tracker.settings import Settings


def install_api(app: FastAPI, settings: Settings) -> None:
    """Mount the REST routers, middleware and error handlers on `app`."""
