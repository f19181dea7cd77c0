"""The one `MetaData` every table of tracker belongs to (it imports nothing of tracker).

Tables are declared in the modules beside this one, grouped by who writes them: the event
store (`event_store`), the audit rows written in the events' own transaction (`audit`),
the API's operational rows (`access`), and the read models (`read_models`). Importing
`tracker.schema` loads them all, so Alembic's autogenerate and the drift check always
see the whole schema.
"""

from __future__ import annotations

from sqlalchemy import MetaData

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)
