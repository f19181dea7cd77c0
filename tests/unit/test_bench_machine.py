"""The benchmark's honesty rule: no verdict when the run started on a busy machine."""

from __future__ import annotations

from bench.machine import Load, verdict


def test_a_quiet_machine_gets_verdicts() -> None:
    quiet = Load(one=1.0, five=3.0, fifteen=5.0, cpus=2)
    assert quiet.quiet
    assert verdict(True, quiet) == "yes"
    assert verdict(False, quiet) == "**no**"
    assert verdict(None, quiet) == "–"


def test_a_busy_machine_gets_no_verdict_either_way() -> None:
    busy = Load(one=1.01, five=0.5, fifteen=0.5, cpus=2)
    assert not busy.quiet
    assert verdict(True, busy) == verdict(False, busy) == "not judged (busy: load 1.0 > 1)"
    assert "busy" in busy.describe()
    assert busy.as_json()["quiet"] is False
