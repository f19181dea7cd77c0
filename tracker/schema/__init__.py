"""The database schema: every table tracker owns, each defined once, on one `metadata`.

Alembic owns these tables (`migrations/`); the event store, the application, the read side
and the edges import the tables (and their names) from here. Importing this package loads
every table module, so `tracker.schema.metadata` is always the whole schema.
"""

from tracker.schema import access, audit, event_store, read_models, sign_in, webhooks
from tracker.schema.metadata import metadata

__all__ = ["access", "audit", "event_store", "metadata", "read_models", "sign_in", "webhooks"]
