"""Sign-in through an OpenID Connect provider (ProConnect, or a local authority's own):
`/connexion/oidc` and `/connexion/oidc/retour` (docs/web.md).

The authorization code flow with PKCE (S256), `state` and `nonce`, done by Authlib's OAuth 2
client; the ID token is checked with Authlib's `CodeIDToken` claims over joserfc's signature
check: signed by a key of the provider's JWKS (fetched again once when a key id is unknown,
for key rotation; still unknown: refused), issued by the discovery document's issuer, for
this client (audience), not expired, carrying the nonce this browser was given. The
provider is named by its discovery URL, client id and secret (TRACKER_OIDC_* settings).

The flow's secrets (state, nonce, PKCE verifier, where to go back) wait in a signed cookie
scoped to `/connexion/oidc`, ten minutes at most, SameSite=Lax because the provider sends
the browser back by a cross-site navigation. Once the person is known and granted, the
session cookie (SameSite=Strict) is set on a page that moves on by itself (meta refresh,
no script): a Strict cookie set at the end of a cross-site redirect chain would not be sent
on the next redirect, so the next page is reached from this site.
"""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

import httpx
import structlog
from authlib.common.errors import AuthlibBaseError
from authlib.oidc.core import CodeIDToken
from fastapi import APIRouter, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from tracker.application.access import Principal
from tracker.application.services import Services
from tracker.application.sign_in import principal_for_person, sign_in
from tracker.config.settings import Settings
from tracker.web.rendering import Renderer
from tracker.web.session import COOKIE_NAME, Sessions, WebSession

# Authlib 1.9 warns at import, on every `tracker` command, that it runs on httpx rather than
# its successor httpx2; tracker uses httpx throughout, so the warning tells its users nothing.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import AsyncOAuth2Client

log = structlog.get_logger("tracker.web.oidc")

METHOD = "oidc"
FLOW_COOKIE = "tracker_oidc"
FLOW_PATH = "/connexion/oidc"
CALLBACK_PATH = "/connexion/oidc/retour"
FLOW_SECONDS = 600
# Clock skew tolerated between the provider and this server, on `exp` and `iat`.
LEEWAY_SECONDS = 60
HTTP_TIMEOUT_SECONDS = 10.0
_FLOW_SALT = "tracker.web.oidc.flow"


class SignInRefusedError(Exception):
    """The provider's answer cannot be trusted (its `reason` is logged, not shown)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Flow:
    """One sign-in under way in one browser."""

    state: str
    nonce: str
    verifier: str
    next_path: str

    @classmethod
    def new(cls, next_path: str) -> Flow:
        return cls(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
            next_path=next_path,
        )


@dataclass(frozen=True)
class Identity:
    """Who the provider vouched for, from the checked ID token (and user info)."""

    issuer: str
    subject: str
    display_name: str
    email: str | None
    id_token: str


def display_name(claims: Mapping[str, Any]) -> str:
    """`name`, else given name and usual (ProConnect) or family name, else the e-mail."""
    if isinstance(claims.get("name"), str) and claims["name"].strip():
        return str(claims["name"])
    parts = [
        claims.get("given_name"),
        claims.get("usual_name") or claims.get("family_name"),
    ]
    joined = " ".join(part for part in parts if isinstance(part, str) and part.strip())
    if joined:
        return joined
    email = claims.get("email")
    return email if isinstance(email, str) else ""


class Provider:
    """The configured provider: its discovery document and keys, fetched when first needed."""

    def __init__(self, settings: Settings, discovery_url: str, client_id: str) -> None:
        self.discovery_url = discovery_url
        self.client_id = client_id
        secret = settings.oidc_client_secret
        self.client_secret = secret.get_secret_value() if secret is not None else None
        self.scopes = settings.oidc_scopes
        self.name = settings.oidc_provider_name
        self.public_url = settings.public_url.rstrip("/") if settings.public_url else None
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    def base_url(self, request: Request) -> str:
        return self.public_url or str(request.base_url).rstrip("/")

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as http:
                answer = await http.get(self.discovery_url)
                answer.raise_for_status()
                found = answer.json()
            for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(found.get(key), str):
                    raise SignInRefusedError(f"the discovery document has no {key}")
            self._metadata = found
        return self._metadata

    async def keys(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            metadata = await self.metadata()
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as http:
                answer = await http.get(metadata["jwks_uri"])
                answer.raise_for_status()
                self._keys = KeySet.import_key_set(answer.json())
        return self._keys

    async def client(self, request: Request) -> AsyncOAuth2Client:
        metadata = await self.metadata()
        methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        method = (
            "none"
            if self.client_secret is None
            else "client_secret_basic"
            if "client_secret_basic" in methods
            else "client_secret_post"
        )
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scope=self.scopes,
            redirect_uri=self.base_url(request) + CALLBACK_PATH,
            code_challenge_method="S256",
            token_endpoint_auth_method=method,
            timeout=HTTP_TIMEOUT_SECONDS,
        )

    async def authorization_url(self, request: Request, flow: Flow) -> str:
        metadata = await self.metadata()
        async with await self.client(request) as client:
            url, _state = client.create_authorization_url(
                metadata["authorization_endpoint"],
                state=flow.state,
                code_verifier=flow.verifier,
                nonce=flow.nonce,
            )
        return str(url)

    async def identity(self, request: Request, flow: Flow, code: str) -> Identity:
        """Exchange the code (with the PKCE verifier) and check the ID token it brings."""
        metadata = await self.metadata()
        async with await self.client(request) as client:
            token = await client.fetch_token(
                metadata["token_endpoint"],
                code=code,
                code_verifier=flow.verifier,
                grant_type="authorization_code",
            )
            id_token = token.get("id_token")
            if not isinstance(id_token, str):
                raise SignInRefusedError("the token answer carries no ID token")
            claims = await self.checked_claims(id_token, token, flow.nonce)
            if not display_name(claims) and metadata.get("userinfo_endpoint"):
                claims = {**await self.user_info(client, metadata, claims), **claims}
        email = claims.get("email")
        return Identity(
            issuer=str(claims["iss"]),
            subject=str(claims["sub"]),
            display_name=display_name(claims),
            email=email if isinstance(email, str) else None,
            id_token=id_token,
        )

    async def decode(self, compact: str) -> jwt.Token:
        metadata = await self.metadata()
        registry = JWSRegistry(
            algorithms=metadata.get("id_token_signing_alg_values_supported") or ["RS256"],
            strict_check_header=False,
        )
        try:
            return jwt.decode(compact, await self.keys(), registry=registry)
        except InvalidKeyIdError:
            # The provider may have rotated its keys since they were fetched.
            return jwt.decode(compact, await self.keys(refresh=True), registry=registry)

    async def checked_claims(
        self, id_token: str, token: Mapping[str, Any], nonce: str
    ) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, dates and nonce hold."""
        metadata = await self.metadata()
        decoded = await self.decode(id_token)
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {"iss": {"essential": True, "values": [metadata["issuer"]]}},
            {
                "nonce": nonce,
                "client_id": self.client_id,
                "access_token": token.get("access_token"),
            },
        )
        claims.validate(leeway=LEEWAY_SECONDS)
        # CodeIDToken checks a nonce only when the token has one: this flow always sent one.
        if claims.get("nonce") != nonce:
            raise SignInRefusedError("the ID token's nonce is not this browser's")
        return dict(claims)

    async def user_info(
        self, client: AsyncOAuth2Client, metadata: Mapping[str, Any], claims: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The user info endpoint's claims (ProConnect signs them as a JWT) for the same
        subject."""
        answer = await client.get(metadata["userinfo_endpoint"])
        answer.raise_for_status()
        if answer.headers.get("content-type", "").startswith("application/jwt"):
            info = dict((await self.decode(answer.text.strip())).claims)
        else:
            info = answer.json()
        if not isinstance(info, dict) or info.get("sub") != claims.get("sub"):
            raise SignInRefusedError("the user info is not about the ID token's subject")
        return info

    async def sign_out_url(self, request: Request, id_token: str) -> str | None:
        """The provider's end-session address, when its discovery document gives one."""
        try:
            endpoint = (await self.metadata()).get("end_session_endpoint")
        except (httpx.HTTPError, ValueError, SignInRefusedError):
            log.warning("oidc_discovery_failed_at_sign_out")
            return None
        if not isinstance(endpoint, str):
            return None
        query = {
            "client_id": self.client_id,
            "post_logout_redirect_uri": self.base_url(request) + "/connexion?sortie=1",
        }
        if id_token:
            query["id_token_hint"] = id_token
        separator = "&" if "?" in endpoint else "?"
        return f"{endpoint}{separator}{urlencode(query)}"


class ProviderSignIn:
    """The session method of people signed in by the provider: the credential is their
    person id, turned back on every request into their live grant (revocation, or a
    forgotten person, ends their sessions at once)."""

    name = METHOD

    def __init__(self, provider: Provider) -> None:
        self.provider = provider

    async def principal(self, services: Services, credential: str) -> Principal | None:
        return await run_in_threadpool(principal_for_person, services.read_engine, credential)

    async def sign_out_url(self, request: Request, session: WebSession) -> str | None:
        return await self.provider.sign_out_url(request, session.hint)


class ProviderPages:
    """The two addresses of the flow, and the pages it may end on."""

    def __init__(
        self,
        provider: Provider,
        sessions: Sessions,
        renderer: Renderer,
        secret: Callable[[], str],
    ) -> None:
        self.provider = provider
        self.sessions = sessions
        self.renderer = renderer
        self._secret = secret

    @cached_property
    def _flows(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self._secret(), salt=_FLOW_SALT)

    def flow(self, request: Request) -> Flow | None:
        cookie = request.cookies.get(FLOW_COOKIE)
        if not cookie:
            return None
        try:
            payload = self._flows.loads(cookie, max_age=FLOW_SECONDS)
        except BadSignature:
            return None
        if not isinstance(payload, dict):
            return None
        values = [payload.get(k) for k in ("state", "nonce", "verifier", "next")]
        strings = [value for value in values if isinstance(value, str) and value]
        if len(strings) != len(values):
            return None
        return Flow(*strings)

    def page(self, template: str, status_code: int, **values: Any) -> Response:
        response = self.renderer.page(
            template, status_code=status_code, principal=None, path=FLOW_PATH, **values
        )
        response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH, httponly=True, samesite="lax")
        return response

    def refused(self, reason: str) -> Response:
        log.warning("oidc_sign_in_refused", reason=reason)
        return self.page("sign_in_refused.html", 401, provider=self.provider.name)

    async def start(self, request: Request, next_path: str) -> Response:
        flow = Flow.new(next_path)
        try:
            url = await self.provider.authorization_url(request, flow)
        except (httpx.HTTPError, ValueError, SignInRefusedError) as error:
            log.warning("oidc_provider_unreachable", error=str(error))
            return self.page("sign_in_refused.html", 502, provider=self.provider.name)
        response = RedirectResponse(url, status_code=303)
        payload = {
            "state": flow.state,
            "nonce": flow.nonce,
            "verifier": flow.verifier,
            "next": flow.next_path,
        }
        response.set_cookie(
            FLOW_COOKIE,
            self._flows.dumps(payload),
            max_age=FLOW_SECONDS,
            path=FLOW_PATH,
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="lax",
        )
        return response

    async def finish(self, request: Request) -> Response:
        flow = self.flow(request)
        params = request.query_params
        if flow is None:
            return self.refused("no sign-in under way in this browser (or it took too long)")
        if not secrets.compare_digest(params.get("state", ""), flow.state):
            return self.refused("the state is not this browser's")
        if answered := params.get("error"):
            return self.refused(f"the provider answered {answered[:100]}")
        code = params.get("code", "")
        if not code:
            return self.refused("no authorization code")
        try:
            identity = await self.provider.identity(request, flow, code)
        except SignInRefusedError as error:
            return self.refused(error.reason)
        except JoseError as error:
            return self.refused(f"ID token: {error.error}: {error.description or ''}")
        except (httpx.HTTPError, ValueError, KeyError, AuthlibBaseError) as error:
            # AuthlibBaseError: the provider refused the code or the verifier.
            return self.refused(f"{type(error).__name__}: {error}")
        services: Services = request.app.state.services
        person = await run_in_threadpool(
            sign_in,
            services.engine,
            identity.issuer,
            identity.subject,
            identity.display_name,
            identity.email,
        )
        log.info("oidc_signed_in", person=person.person_id, granted=person.principal is not None)
        if person.principal is None:
            return self.page(
                "access_pending.html",
                403,
                person_id=person.person_id,
                name=identity.display_name,
            )
        session = WebSession.new(METHOD, person.person_id, hint=identity.id_token)
        response = self.page("signed_in.html", 200, next_path=flow.next_path)
        response.set_cookie(
            COOKIE_NAME,
            self.sessions.dumps(session),
            max_age=self.sessions.max_age_seconds,
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response


def provider_router(pages: ProviderPages, local: Callable[[str | None], str]) -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get(FLOW_PATH)
    async def start(request: Request) -> Response:
        """Send the browser to the provider, with a new state, nonce and PKCE challenge."""
        return await pages.start(request, local(request.query_params.get("suite")))

    @routes.get(CALLBACK_PATH)
    async def finish(request: Request) -> Response:
        """The provider's answer: check it, know the person, open their session."""
        return await pages.finish(request)

    return routes
