"""Read-model tables and the projections' tracking positions."""

from __future__ import annotations
