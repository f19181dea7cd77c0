"""GraphQL for dashboards: Strawberry types and resolvers over the read models."""

from __future__ import annotations

from fastapi import FastAPI

from tracker.settings import Settings


def install_graphql(app: FastAPI, settings: Settings) -> None:
    """Mount `/graphql` on `app`."""
