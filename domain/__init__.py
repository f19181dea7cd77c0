"""tracker's domain: the Lab and Project aggregates, their events, value objects and errors.

This package is pure: it imports the eventsourcing domain module and the standard library only.
"""
