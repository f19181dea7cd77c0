"""Web sessions: a signed, HttpOnly, SameSite=Strict cookie with an expiry (docs/web.md).

A session says how its holder signed in (`method`) and with what (`credential`); each
sign-in method turns that back into the `Principal` the API would see, on every request,
so a revoked or expired token closes its sessions at once. The methods are
`token`, a bearer token pasted once on `/connexion`, and `oidc`, a person signed in through an
OpenID Connect provider (tracker/web/oidc.py): its credential is the person's id, and it
keeps the provider's ID token as the `hint` its sign-out sends back to the provider.

The cookie is signed (itsdangerous, HMAC-SHA1 over the session secret) and timestamped: the
server refuses one older than `TRACKER_SESSION_HOURS`, whatever the browser kept. It is
signed, not encrypted: it carries the pasted token, which its holder already has; HttpOnly
keeps it from scripts, SameSite=Strict from other sites, and it is host-only (no Domain)
on `/`. Each sign-in mints a new session id, so a cookie planted before sign-in is never
the one that comes out of it (session fixation).

The secret is `TRACKER_SESSION_SECRET`; when unset, one is generated at first start into
`var/session_secret` (mode 0600) and read back on later starts, so sessions survive a
restart. Several hosts behind one name must share `TRACKER_SESSION_SECRET`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from tracker.application.access import Principal
from tracker.application.services import Services
from tracker.config.settings import Settings

COOKIE_NAME = "tracker_session"
SECRET_FILE = Path("var") / "session_secret"
_SALT = "tracker.web.session"


@dataclass(frozen=True)
class WebSession:
    """One signed-in browser: its id, how it signed in, and the credential to check."""

    session_id: str
    method: str
    credential: str
    # What the method keeps for signing out (a provider's ID token, its `id_token_hint`).
    hint: str = ""

    def as_payload(self) -> dict[str, str]:
        payload = {"sid": self.session_id, "method": self.method, "credential": self.credential}
        if self.hint:
            payload["hint"] = self.hint
        return payload

    @classmethod
    def from_payload(cls, payload: Any) -> WebSession | None:
        if not isinstance(payload, Mapping):
            return None
        session_id, method, credential = (payload.get(k) for k in ("sid", "method", "credential"))
        if not (isinstance(session_id, str) and isinstance(method, str)):
            return None
        if not (isinstance(credential, str) and session_id and method and credential):
            return None
        hint = payload.get("hint", "")
        return cls(session_id, method, credential, hint if isinstance(hint, str) else "")

    @classmethod
    def new(cls, method: str, credential: str, hint: str = "") -> WebSession:
        """A fresh session: a new random id at every sign-in."""
        return cls(
            session_id=secrets.token_urlsafe(24), method=method, credential=credential, hint=hint
        )


class SignInMethod(Protocol):
    """How a session's credential becomes a principal (None: no longer valid)."""

    async def principal(self, services: Services, credential: str) -> Principal | None: ...


@runtime_checkable
class SignsOutElsewhere(Protocol):
    """A method whose sign-out continues somewhere else (a provider's end-session)."""

    async def sign_out_url(self, request: Request, session: WebSession) -> str | None: ...


class TokenSignIn:
    """A bearer token pasted once: authenticated as the API does, on every request."""

    name = "token"

    async def principal(self, services: Services, credential: str) -> Principal | None:
        principal = services.principals.get(credential)
        if principal is None:
            principal = await run_in_threadpool(
                services.principals.authenticate, services.read_engine, credential
            )
        return principal


def session_secret(settings: Settings, secret_file: Path = SECRET_FILE) -> str:
    """`TRACKER_SESSION_SECRET`, or the one generated into `var/` at first start."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    if secret_file.exists():
        return secret_file.read_text().strip()
    secret_file.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # Created with mode 0600, never readable by others, even for an instant.
    descriptor = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(secret)
    return secret


class Sessions:
    """Signs and reads session cookies, and resolves them to principals."""

    def __init__(self, secret: str | Callable[[], str], max_age_seconds: int) -> None:
        # A callable is asked on first use: building the app writes no secret file.
        self._secret = secret
        self.max_age_seconds = max_age_seconds
        self.methods: dict[str, SignInMethod] = {TokenSignIn.name: TokenSignIn()}

    @cached_property
    def _serializer(self) -> URLSafeTimedSerializer:
        secret = self._secret if isinstance(self._secret, str) else self._secret()
        return URLSafeTimedSerializer(secret, salt=_SALT)

    def dumps(self, session: WebSession) -> str:
        return self._serializer.dumps(session.as_payload())

    def loads(self, cookie: str | None) -> WebSession | None:
        """The session a cookie carries, or None (absent, forged, expired or malformed)."""
        if not cookie:
            return None
        try:
            payload = self._serializer.loads(cookie, max_age=self.max_age_seconds)
        except BadSignature:  # SignatureExpired is a BadSignature too
            return None
        return WebSession.from_payload(payload)

    async def principal(self, services: Services, session: WebSession) -> Principal | None:
        method = self.methods.get(session.method)
        if method is None:
            return None
        return await method.principal(services, session.credential)

    async def sign_out_url(self, request: Request, session: WebSession | None) -> str | None:
        """Where the browser goes once the cookie is deleted, if not back to `/connexion`."""
        method = self.methods.get(session.method) if session is not None else None
        if session is None or not isinstance(method, SignsOutElsewhere):
            return None
        return await method.sign_out_url(request, session)
