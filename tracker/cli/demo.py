"""`tracker serve --demo` (what `make run` starts): a living portfolio on first start.

On an empty event store it seeds the demo portfolio (tracker.application.seed), creates one token
per role and a staff token per lab, and prints them with ready-to-paste curl and GraphQL
examples. On any later start the store holds events: nothing is seeded or created again
(the tokens were printed once, and only their hashes are stored), and it says how to get
new ones.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import urlencode
from uuid import UUID

from rich.console import Console

from tracker.application.access import Role, create_token
from tracker.application.seed import (
    DEFAULT_PROJECTS,
    DEFAULT_SEED,
    LABS,
    SeedSummary,
    portfolio_is_empty,
)
from tracker.application.services import Services
from tracker.cli.seed import run_seed
from tracker.config.settings import Settings


@dataclass(frozen=True)
class DemoToken:
    """A token created for the demo, shown once."""

    role: Role
    lab: str | None
    token_id: str
    token: str

    @property
    def label(self) -> str:
        return f"{self.role.value} ({self.lab})" if self.lab else self.role.value


@dataclass(frozen=True)
class DemoSetup:
    """What the demo start did: seeded and created tokens, or found data and left it."""

    seeded: bool
    events: int
    summary: SeedSummary | None = None
    tokens: tuple[DemoToken, ...] = ()

    def token_for(self, role: Role, lab: str | None = None) -> DemoToken:
        return next(t for t in self.tokens if t.role is role and t.lab == lab)


def create_demo_tokens(services: Services) -> tuple[DemoToken, ...]:
    """One token per role (staff: one per seeded lab), named so `tracker token list` says why."""
    wanted: list[tuple[Role, str | None]] = [
        (Role.ADMIN, None),
        (Role.VIEWER, None),
        (Role.AUDITOR, None),
        *((Role.STAFF, lab.slug) for lab in LABS),
    ]
    tokens = []
    for role, lab in wanted:
        name = f"demo {role.value}" + (f" {lab}" if lab else "")
        token_id, token = create_token(services.application, role, lab=lab, name=name)
        tokens.append(DemoToken(role, lab, token_id, token))
    return tuple(tokens)


def prepare_demo(
    settings: Settings,
    console: Console,
    projects: int = DEFAULT_PROJECTS,
    seed: int = DEFAULT_SEED,
) -> DemoSetup:
    """Seed and create tokens when no portfolio is stored; otherwise leave everything as it is."""
    services = Services.open(settings)
    try:
        if not portfolio_is_empty(services.application):
            events = services.application.recorder.max_notification_id() or 0
            return DemoSetup(seeded=False, events=events)
        summary = run_seed(services, projects, seed, force=False, console=console)
        tokens = create_demo_tokens(services)
        return DemoSetup(seeded=True, events=summary.events, summary=summary, tokens=tokens)
    finally:
        services.close()


def base_url(host: str, port: int) -> str:
    """The URL to paste: a wildcard listen address is reached on loopback."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


PORTFOLIO_QUERY = "{ portfolio { total byPhase { key label count } byHealth { key count } } }"


def sign_in_link(url: str, token: str) -> str:
    """The web sign-in page with this token pre-filled (docs/web.md): for the demo only,
    since a link carries its token wherever it is pasted."""
    return f"{url}/connexion?{urlencode({'jeton': token})}"


def graphql_body(query: str) -> str:
    """A GraphQL request body, as JSON."""
    return json.dumps({"query": query}, ensure_ascii=False)


def banner(setup: DemoSetup, url: str) -> str:
    """What the demo start prints: URLs, and on first start the tokens and examples."""
    lines = [
        "",
        f"tracker is serving on {url}",
        f"  web pages (French)      {url}/  (sign in at {url}/connexion)",
        f"  API docs (Swagger UI)   {url}/docs",
        f"  GraphQL (GraphiQL)      {url}/graphql",
        f"  health, readiness       {url}/healthz  {url}/readyz  ({url}/metrics for Prometheus)",
        "",
    ]
    if not setup.seeded:
        lines += [
            f"The store holds {setup.events:,} events already: nothing was seeded or created.",
            "Demo tokens are printed only when they are created (only their hashes are kept).",
            "Create one with, for instance:",
            "  export TOKEN=$(.venv/bin/tracker token create --role viewer --name me)",
            "and list them with `.venv/bin/tracker token list`.",
            "",
        ]
        return "\n".join(lines)
    assert setup.summary is not None
    lines += [setup.summary.line(), "", "Demo tokens (shown once; only their hashes are stored):"]
    width = max(len(t.label) for t in setup.tokens)
    lines += [f"  {t.label:<{width}}  {t.token}" for t in setup.tokens]
    lines += ["", "Sign in to the web pages (one link per role; the form opens pre-filled):"]
    lines += [f"  {t.label:<{width}}  {sign_in_link(url, t.token)}" for t in setup.tokens]
    staff = setup.token_for(Role.STAFF, LABS[0].slug)
    viewer = setup.token_for(Role.VIEWER)
    auditor = setup.token_for(Role.AUDITOR)
    project: UUID | None = setup.summary.sample_project
    lines += [
        "",
        "Try it (paste into a shell):",
        f"  export STAFF={staff.token} VIEWER={viewer.token} AUDITOR={auditor.token}",
        f"  export API={url}/api/v1 PROJECT={project}",
        '  curl -s -H "Authorization: Bearer $VIEWER" $API/labs',
        '  curl -s -H "Authorization: Bearer $VIEWER" $API/projects/$PROJECT',
        '  curl -s -X POST -H "Authorization: Bearer $STAFF" \\',
        '       -H "Content-Type: application/json" \\',
        '       -d \'{"health": "at_risk", "reason": "Départ du chef de projet"}\' '
        "$API/projects/$PROJECT/health",
        '  curl -s -H "Authorization: Bearer $AUDITOR" $API/projects/$PROJECT/events',
        "",
        "Dashboards (GraphQL):",
        '  curl -s -H "Authorization: Bearer $VIEWER" -H "Content-Type: application/json" \\',
        f"       -d {shlex.quote(graphql_body(PORTFOLIO_QUERY))} {url}/graphql",
        "",
        "Stop with Ctrl-C; the next `make run` keeps this data and does not reseed.",
        "",
    ]
    return "\n".join(lines)


def run_demo(settings: Settings, host: str, port: int, out: TextIO) -> DemoSetup:
    """Prepare the demo (progress on standard error) and print the banner on `out`."""
    setup = prepare_demo(settings, Console(stderr=True))
    out.write(banner(setup, base_url(host, port)) + "\n")
    out.flush()
    return setup
