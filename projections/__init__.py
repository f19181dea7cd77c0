"""The read side: read models filled from the event log, their projectors, and their queries."""
