"""Tables of the API's edge: bearer tokens and idempotency records."""

from __future__ import annotations
