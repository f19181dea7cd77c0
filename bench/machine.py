"""Was the machine quiet? The load average at a run's start, and the verdicts it allows.

A benchmark's figures only say whether a target is met when nothing else was competing for
the processors: on a busy machine the figure and its floor both drop, by different amounts.
So every run records the load average at its start (`Load.now()`), and a run that began
with a one-minute load average above half the processor count (`QUIET_LOAD_FRACTION`)
reports no verdict at all: neither "yes" nor "no", but "not judged" with the load that
stopped it. The figures, their floors measured in the same run and the ratios are still
printed and stored: they are what such a run can honestly give.

The bench's own work raises the load average while it runs, so the verdict is taken from
the load at the start of the run (before any suite started a server), not at each suite.

Used by `python -m bench` (every suite) and by `bench.commands`; other benchmark modules
may call `Load.now()` and `verdict()` the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# A machine is quiet when its one-minute load average is at most this share of its cores.
QUIET_LOAD_FRACTION = 0.5


@dataclass(frozen=True)
class Load:
    """The load averages (1, 5, 15 minutes) and the processor count at one moment."""

    one: float
    five: float
    fifteen: float
    cpus: int

    @classmethod
    def now(cls) -> Load:
        one, five, fifteen = os.getloadavg()
        return cls(one, five, fifteen, os.cpu_count() or 1)

    @property
    def limit(self) -> float:
        """The highest one-minute load average at which verdicts are given."""
        return QUIET_LOAD_FRACTION * self.cpus

    @property
    def quiet(self) -> bool:
        return self.one <= self.limit

    def describe(self) -> str:
        state = "quiet" if self.quiet else "busy"
        return (
            f"load average {self.one:.2f}, {self.five:.2f}, {self.fifteen:.2f} on "
            f"{self.cpus} CPUs at the start: {state} (verdicts need <= {self.limit:g})"
        )

    def as_json(self) -> dict[str, object]:
        return {
            "load_average": [self.one, self.five, self.fifteen],
            "cpus": self.cpus,
            "quiet_limit": self.limit,
            "quiet": self.quiet,
        }


def verdict(met: bool | None, load: Load) -> str:
    """The "met" cell of a figure: yes / no on a quiet machine, "not judged" on a busy one."""
    if met is None:
        return "–"
    if not load.quiet:
        return f"not judged (busy: load {load.one:.1f} > {load.limit:g})"
    return "yes" if met else "**no**"
