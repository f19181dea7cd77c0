"""The event store: eventsourcing's recorders per database (`sqlite`, `postgres`), the typed
interface the audit code reads through (`interface`), the hash chain, engines, migrations."""
