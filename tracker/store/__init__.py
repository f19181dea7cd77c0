"""The event store: eventsourcing's recorders per database, hash chain, engines, migrations."""
