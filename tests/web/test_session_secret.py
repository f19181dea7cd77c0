"""The session secret: from TRACKER_SESSION_SECRET, else generated once into var/ (0600)."""

from __future__ import annotations

import stat
from datetime import date
from pathlib import Path

from pydantic import SecretStr

from tracker.application.access import Role
from tracker.application.seed import LABS, SeedSummary
from tracker.cli.demo import DemoSetup, DemoToken, banner
from tracker.config.settings import Settings
from tracker.web.session import Sessions, WebSession, session_secret


def test_an_unset_secret_is_generated_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    secret_file = tmp_path / "var" / "session_secret"
    first = session_secret(Settings(), secret_file)
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert session_secret(Settings(), secret_file) == first
    assert len(first) >= 48


def test_the_setting_wins_over_the_generated_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "session_secret"
    settings = Settings(session_secret=SecretStr("from-the-environment"))
    assert session_secret(settings, secret_file) == "from-the-environment"
    assert not secret_file.exists()


def test_a_cookie_signed_with_another_secret_is_refused() -> None:
    cookie = Sessions("one secret", 3600).dumps(WebSession.new("token", "tok_x.y"))
    assert Sessions("one secret", 3600).loads(cookie) is not None
    assert Sessions("another secret", 3600).loads(cookie) is None


def test_an_expired_cookie_is_refused() -> None:
    cookie = Sessions("secret", 3600).dumps(WebSession.new("token", "tok_x.y"))
    assert Sessions("secret", -1).loads(cookie) is None


def test_the_demo_prints_a_sign_in_link_per_token() -> None:
    tokens = tuple(
        DemoToken(role, lab, f"tok_{n}", f"tok_{n}.secret")
        for n, (role, lab) in enumerate(
            [(Role.VIEWER, None), (Role.AUDITOR, None), (Role.STAFF, LABS[0].slug)]
        )
    )
    summary = SeedSummary(1, 1, 1, {}, 0, 0, {}, date(2024, 1, 1), date(2024, 1, 2), 0.1)
    printed = banner(DemoSetup(True, 1, summary, tokens), "http://127.0.0.1:8000")
    for token in tokens:
        assert f"http://127.0.0.1:8000/connexion?jeton={token.token}" in printed
