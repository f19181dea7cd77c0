"""Audit: the event log's hash chains and checkpoints, verification, history, export, people.

`chain` is the documented hash rule (standard library only); the other modules build on it.
This package imports nothing at import time, so the event store can use `chain` freely.
"""
