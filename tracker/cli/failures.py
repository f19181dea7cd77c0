"""One line for each way a command commonly fails: what went wrong, and what to do."""

from __future__ import annotations

import re

from eventsourcing.persistence import OperationalError, ProgrammingError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, NoSuchModuleError

from tracker.config.settings import SUPPORTED_SCHEMES

MISSING_TABLE_MARKERS = ("no such table", "UndefinedTable", 'relation "')
MISSING_DATABASE = re.compile(r'database "([^"]+)" does not exist')
UNREACHABLE_MARKERS = (
    "Connection refused",
    "couldn't get a connection",
    "could not translate host name",
    "timeout expired",
    "No route to host",
    "unable to open database file",
)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def describe_failure(error: BaseException) -> str:
    """One line saying what went wrong and, for the expected failures, what to do."""
    text = str(error)
    line = _first_line(error)
    database_error = isinstance(error, ProgrammingError | OperationalError | DBAPIError)
    missing_database = MISSING_DATABASE.search(text)
    if missing_database:
        name = missing_database.group(1)
        return (
            f"the database {name!r} named by TRACKER_DATABASE_URL does not exist: create it"
            f" (createdb {name}), then run `tracker migrate`"
        )
    if database_error and any(marker in text for marker in MISSING_TABLE_MARKERS):
        return f"the database has no tracker tables ({line}): run `tracker migrate` first"
    if database_error and any(marker in text for marker in UNREACHABLE_MARKERS):
        return (
            f"cannot reach the database at TRACKER_DATABASE_URL ({line}): is the server"
            " running, and the host, port and user right?"
        )
    if database_error:
        return f"the database refused the request ({line})"
    if isinstance(error, NoSuchModuleError | ModuleNotFoundError):
        return (
            f"TRACKER_DATABASE_URL names a database tracker does not support ({line}):"
            f" use one of {', '.join(SUPPORTED_SCHEMES)}"
        )
    if isinstance(error, ValidationError):
        fields = ", ".join(
            f"TRACKER_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        )
        return f"invalid setting {fields}"
    return f"{line} ({type(error).__name__})"
