"""Idempotency-Key records: the store moved to `tracker/application/idempotency.py` so that
every edge (the REST API, the web forms) writes through the same one; re-exported here."""

from tracker.application.idempotency import (
    COMPLETED,
    PENDING,
    CompletionWrite,
    IdempotencyKeyInProgressError,
    IdempotencyKeyReusedError,
    IdempotencyStore,
    Renderer,
    Reservation,
    ReservationLostError,
    StoredResponse,
    fingerprint,
)

__all__ = [
    "COMPLETED",
    "PENDING",
    "CompletionWrite",
    "IdempotencyKeyInProgressError",
    "IdempotencyKeyReusedError",
    "IdempotencyStore",
    "Renderer",
    "Reservation",
    "ReservationLostError",
    "StoredResponse",
    "fingerprint",
]
