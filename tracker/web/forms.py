"""The staff's forms (docs/web.md): `/projets/{id}/saisie` and `/projets/nouveau`.

Each form posts to the same application commands the REST API sends
(`TrackerApplication.execute`), as the signed-in person (their grant's or token's id is the
events' actor). What protects them:

- **Cross-site requests**: the session cookie is SameSite=Strict, the `Origin` must be this
  site, and each form carries a token bound to the session (an HMAC of the session id under
  the session secret): a form from elsewhere has none of the three.
- **Double submission**: each form, as rendered, carries a random key, used as the API's
  `Idempotency-Key` (the same store, kept with the events in one transaction): the second
  post of the same form replays the first one's outcome and writes nothing.
- **A stale page**: each project form carries the project's version when the page was
  read; the command is written only on that version (the API's `If-Match`). Otherwise
  nothing is written and the page comes back (409) saying someone changed the project since
  it was opened, with the project as it is now and the person's entries kept.
- **Errors**: a field that does not parse, or a domain rule that refuses the command, is
  shown beside its field in French (the API's catalogue for domain errors).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from functools import partial
from typing import Any, TypeVar
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from domain import errors
from domain.values import (
    ActivityKind,
    ActivityMode,
    Audience,
    GateDecision,
    Health,
    Phase,
    Territory,
    TerritoryLevel,
    TrainingFormat,
)
from tracker.application.access import Principal, Role, TokenRequestError
from tracker.application.commands import (
    AchieveMilestone,
    AssessHealth,
    CancelMilestone,
    CancelTraining,
    Command,
    EnterPhase,
    HoldTraining,
    LogActivity,
    PlanMilestone,
    RegisterProject,
    RescheduleMilestone,
    ScheduleTraining,
)
from tracker.application.idempotency import (
    CompletionWrite,
    IdempotencyKeyInProgressError,
    IdempotencyKeyReusedError,
    IdempotencyStore,
    StoredResponse,
    fingerprint,
)
from tracker.application.service import StaleVersionError, WriteOptions
from tracker.application.services import Services
from tracker.application.sign_in import grant_access, waiting_people
from tracker.i18n import FRENCH, translate
from tracker.web.dates import parse_date
from tracker.web.pages import same_origin, small_form
from tracker.web.rendering import SECURITY_HEADERS, Renderer
from tracker.web.session import COOKIE_NAME, Sessions

FORM_KEY_PREFIX = "web-form:"
WHOLE_FORM = "form"


class FieldError(Exception):
    """A field's value does not parse: its name and the French message's id."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def _text(values: Mapping[str, str], name: str, required: bool = True) -> str:
    value = values.get(name, "").strip()
    if required and not value:
        raise FieldError(name, "required")
    return value


def _date(values: Mapping[str, str], name: str) -> date:
    try:
        return parse_date(_text(values, name))
    except ValueError:
        raise FieldError(name, "date") from None


def _int(values: Mapping[str, str], name: str) -> int:
    try:
        number = int(_text(values, name))
    except ValueError:
        raise FieldError(name, "integer") from None
    if number < 0:
        raise FieldError(name, "integer")
    return number


E = TypeVar("E", Phase, Health, GateDecision, ActivityKind, ActivityMode, TrainingFormat)


def _choice(values: Mapping[str, str], name: str, enum: type[E]) -> E:
    try:
        return enum(_text(values, name))
    except ValueError:
        raise FieldError(name, "choice") from None


def _reason(values: Mapping[str, str]) -> str | None:
    return values.get("reason", "").strip() or None


@dataclass(frozen=True)
class Action:
    """One form: how its fields become a command, and which field each refusal concerns."""

    build: Callable[[UUID, Mapping[str, str]], Command]
    # The business date (`occurred_on`) field, if the form has one.
    dated_by: str | None = "occurred_on"
    # Domain errors shown beside a field (the others above the form).
    fields: Mapping[type[Exception], str] = field(default_factory=dict)
    # Written only on the version the page showed (its hidden `version` field); a form that
    # creates an aggregate has none.
    versioned: bool = True
    # The business date is the dated field's, but never later than today (a project may
    # start after the day it is registered; its registration is dated today then).
    at_most_today: bool = False


@dataclass(frozen=True)
class Creation:
    """A form that creates an aggregate of the signed-in staff member's lab
    (`FormPages.create`): its name, its command from the lab and the fields, and the rest
    as an `Action`'s."""

    name: str
    build: Callable[[str, Mapping[str, str]], Command]
    dated_by: str | None = None
    fields: Mapping[type[Exception], str] = field(default_factory=dict)
    at_most_today: bool = False

    def action(self, lab: str) -> Action:
        """The form as an unversioned `Action` of `lab`, for `record`."""
        return Action(
            lambda _id, values: self.build(lab, values),
            dated_by=self.dated_by,
            fields=self.fields,
            versioned=False,
            at_most_today=self.at_most_today,
        )


def _enter_phase(project_id: UUID, values: Mapping[str, str]) -> Command:
    return EnterPhase(
        project_id=project_id,
        phase=_choice(values, "phase", Phase),
        decision=_choice(values, "decision", GateDecision),
        reason=_reason(values),
    )


def _assess_health(project_id: UUID, values: Mapping[str, str]) -> Command:
    return AssessHealth(
        project_id=project_id, health=_choice(values, "health", Health), reason=_reason(values)
    )


def _plan_milestone(project_id: UUID, values: Mapping[str, str]) -> Command:
    return PlanMilestone(
        project_id=project_id,
        title=_text(values, "title"),
        due_on=_date(values, "due_on"),
        phase=_choice(values, "phase", Phase),
        reason=_reason(values),
    )


def _reschedule_milestone(project_id: UUID, values: Mapping[str, str]) -> Command:
    return RescheduleMilestone(
        project_id=project_id,
        milestone_id=_text(values, "milestone_id"),
        due_on=_date(values, "due_on"),
        reason=_reason(values),
    )


def _achieve_milestone(project_id: UUID, values: Mapping[str, str]) -> Command:
    return AchieveMilestone(
        project_id=project_id,
        milestone_id=_text(values, "milestone_id"),
        achieved_on=_date(values, "achieved_on"),
        evidence=values.get("evidence", "").strip(),
    )


def _cancel_milestone(project_id: UUID, values: Mapping[str, str]) -> Command:
    return CancelMilestone(
        project_id=project_id, milestone_id=_text(values, "milestone_id"), reason=_reason(values)
    )


def _log_activity(project_id: UUID, values: Mapping[str, str]) -> Command:
    return LogActivity(
        project_id=project_id,
        kind=_choice(values, "kind", ActivityKind),
        title=_text(values, "title"),
        held_on=_date(values, "held_on"),
        participants=_int(values, "participants"),
        mode=_choice(values, "mode", ActivityMode) if values.get("mode") else None,
    )


_DATES: dict[type[Exception], str] = {
    errors.FutureDateError: "occurred_on",
    errors.DatedBeforeStartError: "occurred_on",
}

ACTIONS: dict[str, Action] = {
    "phase": Action(
        _enter_phase,
        fields={
            errors.PhaseTransitionError: "phase",
            errors.ReasonRequiredError: "reason",
            errors.PhaseOutOfOrderError: "occurred_on",
            **_DATES,
        },
    ),
    "sante": Action(_assess_health, fields={errors.ReasonRequiredError: "reason", **_DATES}),
    "jalon": Action(
        _plan_milestone,
        fields={errors.InvalidTitleError: "title", errors.TimelineError: "due_on", **_DATES},
    ),
    "jalon-report": Action(
        _reschedule_milestone,
        fields={
            errors.RescheduleToSameDateError: "due_on",
            errors.ReasonRequiredError: "reason",
            errors.MilestoneOutOfOrderError: "due_on",
            **_DATES,
        },
    ),
    "jalon-atteint": Action(
        _achieve_milestone,
        dated_by="achieved_on",
        fields={
            errors.FutureDateError: "achieved_on",
            errors.TimelineError: "achieved_on",
            errors.MilestoneNotPlannedError: "achieved_on",
        },
    ),
    "jalon-annule": Action(
        _cancel_milestone, fields={errors.ReasonRequiredError: "reason", **_DATES}
    ),
    "activite": Action(
        _log_activity,
        dated_by="held_on",
        fields={
            errors.InvalidTitleError: "title",
            errors.NegativeValueError: "participants",
            errors.FutureDateError: "held_on",
            errors.TimelineError: "held_on",
        },
    ),
}


def _register_project(lab: str, values: Mapping[str, str]) -> Command:
    try:
        territory = Territory(
            _text(values, "territory_level"),
            _text(values, "territory_code"),
            _int(values, "territory_year"),
        )
    except errors.InvalidValueError:
        raise FieldError("territory_code", "territory") from None
    return RegisterProject(
        lab=lab,
        title=_text(values, "title"),
        summary=_text(values, "summary"),
        themes=[theme.strip() for theme in values.get("themes", "").split(",") if theme.strip()],
        territories=[territory],
        started_on=_date(values, "started_on"),
    )


REGISTER = Creation(
    "nouveau",
    _register_project,
    dated_by="started_on",
    fields={errors.InvalidTitleError: "title", errors.FutureDateError: "started_on"},
    at_most_today=True,
)


# -- the training forms (`/formations/nouvelle`, `/formations/{id}/saisie`) ------------------

# The schedule form offers this many session dates; an action with more is scheduled
# through the API (docs/web.md).
SESSION_FIELDS = ("session_1", "session_2", "session_3")


def _optional_int(values: Mapping[str, str], name: str) -> int | None:
    return _int(values, name) if values.get(name, "").strip() else None


def _listed(values: Mapping[str, str], name: str) -> list[str]:
    return [item.strip() for item in values.get(name, "").split(",") if item.strip()]


def _schedule_training(lab: str, values: Mapping[str, str]) -> Command:
    sessions = [_date(values, SESSION_FIELDS[0])]
    sessions += [_date(values, name) for name in SESSION_FIELDS[1:] if values.get(name)]
    place = None
    if values.get("place_code", "").strip():
        try:
            place = Territory("commune", _text(values, "place_code"), _int(values, "place_year"))
        except errors.InvalidValueError:
            raise FieldError("place_code", "territory") from None
    return ScheduleTraining(
        lab=lab,
        title=_text(values, "title"),
        format=_choice(values, "format", TrainingFormat),
        session_dates=sessions,
        mode=_choice(values, "mode", ActivityMode),
        place=place,
        partners=_listed(values, "partners"),
        audiences=[a.value for a in Audience if values.get(f"audience_{a.value}")],
        capacity=_optional_int(values, "capacity"),
        campaign=values.get("campaign", "").strip() or None,
    )


def _hold_training(training_id: UUID, values: Mapping[str, str]) -> Command:
    by_audience = {
        a.value: count
        for a in Audience
        if (count := _optional_int(values, f"attendance_{a.value}")) is not None
    }
    return HoldTraining(
        training_id=training_id,
        attendance=_int(values, "attendance"),
        attendance_by_audience=by_audience,
        reason=_reason(values),
    )


def _cancel_training(training_id: UUID, values: Mapping[str, str]) -> Command:
    return CancelTraining(training_id=training_id, reason=_reason(values))


SCHEDULE_FIELDS: dict[type[Exception], str] = {
    errors.InvalidTitleError: "title",
    errors.SessionRequiredError: "session_1",
    errors.DatesOutOfOrderError: "session_1",
    errors.PlaceRequiredError: "place_code",
    errors.CampaignNotFoundError: "campaign",
}

SCHEDULE = Creation("nouvelle", _schedule_training, fields=SCHEDULE_FIELDS)

TRAINING_ACTIONS: dict[str, Action] = {
    "tenue": Action(
        _hold_training,
        fields={
            errors.AttendanceAboveCapacityError: "reason",
            errors.AttendanceByAudienceError: "attendance",
            errors.NegativeValueError: "attendance",
            errors.FutureDateError: "occurred_on",
        },
    ),
    "annulee": Action(
        _cancel_training,
        fields={errors.ReasonRequiredError: "reason", errors.FutureDateError: "occurred_on"},
    ),
}


def field_for(action: Action, error: Exception) -> str:
    for kind, name in action.fields.items():
        if isinstance(error, kind):
            return name
    return WHOLE_FORM


@dataclass
class Outcome:
    """What a form's post came to, for the page to show."""

    action: str
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    stale: bool = False


class FormPages:
    """The forms' pages and posts."""

    def __init__(
        self, sessions: Sessions, renderer: Renderer, secret: Callable[[], str], zone: tzinfo
    ) -> None:
        self.zone = zone
        self.sessions = sessions
        self.renderer = renderer
        self._secret = secret

    def csrf_token(self, session_id: str) -> str:
        key = hashlib.sha256(f"tracker.web.forms:{self._secret()}".encode()).digest()
        return hmac.new(key, session_id.encode(), hashlib.sha256).hexdigest()

    async def signed_in(self, request: Request) -> tuple[Principal, str] | None:
        session = self.sessions.loads(request.cookies.get(COOKIE_NAME))
        if session is None:
            return None
        services: Services = request.app.state.services
        principal = await self.sessions.principal(services, session)
        return (principal, self.csrf_token(session.session_id)) if principal else None

    async def posted(self, request: Request) -> tuple[Principal, str, dict[str, str]] | Response:
        """A form's post, checked as every form's is: from this site, by a signed-in person,
        with the CSRF token of their session. Returns who, their token and the form's
        values, or the refusal page."""
        signed = await self.signed_in(request)
        if not same_origin(request) or signed is None:
            return self.refused(None, "origin")
        principal, csrf = signed
        values = await small_form(request)
        if not hmac.compare_digest(values.get("csrf", ""), csrf):
            return self.refused(principal, "csrf")
        return principal, csrf, values

    async def form_page(
        self, request: Request, load: Callable[[], Any], page: Callable[..., Response]
    ) -> Response:
        """The GET of one aggregate's forms page (a project, a training action): signed in
        (else to the sign-in, back here after), `load` reads the aggregate from the event
        store (None: unknown, 404), staff of its lab only (else 403), then `page(principal,
        csrf, state, done=…)` shows it, `?fait=` naming the form just written."""
        signed = await self.signed_in(request)
        if signed is None:
            return RedirectResponse(f"/connexion?suite={request.url.path}", status_code=303)
        principal, csrf = signed
        state = await run_in_threadpool(load)
        if state is None:
            return self.page("not_found.html", principal, 404)
        if not may_write(principal, state.lab):
            return self.refused(principal, "lab")
        return page(principal, csrf, state, done=request.query_params.get("fait"))

    async def post_form(
        self,
        request: Request,
        posted: tuple[Principal, str, dict[str, str]],
        action: str,
        chosen: Action | None,
        load: Callable[[], Any],
        page: Callable[..., Response],
        done: str,
    ) -> Response:
        """One form `action` on one aggregate (a project, a training action): its command,
        written once, on the version the page showed. `load` reads the aggregate (None:
        unknown), `page(state, status, outcome)` shows the page again, `done` is where a
        written form goes."""
        principal, _csrf, values = posted
        state = await run_in_threadpool(load)
        if chosen is None or state is None:
            return self.page("not_found.html", principal, 404)
        if not may_write(principal, state.lab):
            return self.refused(principal, "lab")
        outcome = Outcome(action, values)

        def again(status: int, fresh: Any | None = None) -> Response:
            return page(fresh or state, status, outcome)

        written = await record(request, principal, chosen, state.id, outcome, again, load)
        if isinstance(written, Response):
            return written
        return RedirectResponse(done, status_code=303)

    async def create_page(self, request: Request, page: Callable[..., Response]) -> Response:
        """The GET of a form that creates an aggregate of the signed-in staff member's lab
        (`/projets/nouveau`, `/formations/nouvelle`): signed in (else to the sign-in, back
        here after), staff only (else 403), then `page(principal, csrf)` shows it."""
        signed = await self.signed_in(request)
        if signed is None:
            return RedirectResponse(f"/connexion?suite={request.url.path}", status_code=303)
        principal, csrf = signed
        if principal.role is not Role.STAFF:
            return self.refused(principal, "lab")
        return page(principal, csrf)

    async def create(
        self,
        request: Request,
        creation: Creation,
        page: Callable[..., Response],
        done: Callable[[str], str],
    ) -> Response:
        """The POST of a form that creates an aggregate of the signed-in staff member's lab:
        checked as every post (`posted`), staff of a lab only (else 403), then `creation`'s
        command written once through `record`. `page(principal, csrf, status, outcome)`
        shows the form again; `done(new id)` is where a written form goes."""
        posted = await self.posted(request)
        if isinstance(posted, Response):
            return posted
        principal, csrf, values = posted
        lab = principal.lab
        if principal.role is not Role.STAFF or lab is None:
            return self.refused(principal, "lab")
        outcome = Outcome(creation.name, values)

        def again(status: int, _state: Any | None = None) -> Response:
            return page(principal, csrf, status, outcome)

        written = await record(
            request, principal, creation.action(lab), uuid.uuid4(), outcome, again, lambda: None
        )
        if isinstance(written, Response):
            return written
        return RedirectResponse(done(str(written.body["id"])), status_code=303)

    def page(
        self,
        template: str,
        principal: Principal,
        status_code: int = 200,
        path: str = "/projets",
        **values: Any,
    ) -> Response:
        return self.renderer.page(
            template,
            status_code=status_code,
            principal=principal,
            path=path,
            form_key=lambda: secrets.token_urlsafe(18),
            **values,
        )

    def project_page(
        self,
        principal: Principal,
        csrf: str,
        project: Any,
        status_code: int = 200,
        outcome: Outcome | None = None,
        done: str | None = None,
    ) -> Response:
        today = datetime.now(self.zone).date()
        milestones = sorted(project.milestones.values(), key=lambda m: (m.due_on, m.title))
        return self.page(
            "project_forms.html",
            principal,
            status_code,
            project=project,
            project_id=str(project.id),
            version=project.version,
            milestones=milestones,
            csrf=csrf,
            outcome=outcome,
            done=done if done in ACTIONS else None,
            today=today.isoformat(),
            phases=[(p.value, p.label) for p in Phase],
            kinds=[k.value for k in ActivityKind],
            modes=[m.value for m in ActivityMode],
        )

    async def access_page(
        self,
        request: Request,
        principal: Principal,
        csrf: str,
        status_code: int = 200,
        person_id: str = "",
        error: str = "",
    ) -> Response:
        services: Services = request.app.state.services
        return self.page(
            "admin_access.html",
            principal,
            status_code,
            csrf=csrf,
            failed_person=person_id,
            error=error,
            done=request.query_params.get("fait") == "1",
            **await _access_values(services),
        )

    def new_project_page(
        self,
        principal: Principal,
        csrf: str,
        status_code: int = 200,
        outcome: Outcome | None = None,
    ) -> Response:
        today = datetime.now(self.zone).date()
        return self.page(
            "new_project.html",
            principal,
            status_code,
            csrf=csrf,
            outcome=outcome,
            today=today.isoformat(),
            year=str(today.year),
            levels=[level.value for level in TerritoryLevel],
        )

    def schedule_page(
        self,
        principal: Principal,
        csrf: str,
        status_code: int = 200,
        outcome: Outcome | None = None,
    ) -> Response:
        today = datetime.now(self.zone).date()
        return self.page(
            "training_new.html",
            principal,
            status_code,
            path="/formations",
            csrf=csrf,
            outcome=outcome,
            year=str(today.year),
            sessions=SESSION_FIELDS,
            formats=[(f.value, f.label) for f in TrainingFormat],
            modes=[m.value for m in ActivityMode],
            audiences=[(a.value, a.label) for a in Audience],
        )

    def training_page(
        self,
        principal: Principal,
        csrf: str,
        training: Any,
        status_code: int = 200,
        outcome: Outcome | None = None,
        done: str | None = None,
    ) -> Response:
        today = datetime.now(self.zone).date()
        named = set(training.audiences)
        return self.page(
            "training_forms.html",
            principal,
            status_code,
            path="/formations",
            training=training.as_dict(),
            training_id=str(training.id),
            version=training.version,
            csrf=csrf,
            outcome=outcome,
            done=done if done in TRAINING_ACTIONS or done == "nouvelle" else None,
            today=today.isoformat(),
            # The action's audiences first (all of them when it names none).
            audiences=[(a.value, a.label) for a in Audience if not named or a.value in named],
        )

    def refused(self, principal: Principal | None, reason: str) -> Response:
        if principal is None:
            return Response("forbidden", status_code=403, headers=SECURITY_HEADERS)
        return self.page("forms_forbidden.html", principal, 403, reason=reason)


async def _access_values(services: Services) -> dict[str, Any]:
    waiting = await run_in_threadpool(waiting_people, services.engine)
    labs = await run_in_threadpool(services.application.list_labs)
    return {"waiting": waiting, "labs": labs}


def may_write(principal: Principal, lab: str) -> bool:
    """As the API: staff of the project's lab (admins manage labs and tokens, not projects)."""
    return principal.role is Role.STAFF and principal.lab == lab


def _load(services: Services, project_id: str) -> Any:
    try:
        return services.application.get_project(UUID(project_id))
    except (ValueError, errors.ProjectNotFoundError):
        return None


def _load_training(services: Services, training_id: str) -> Any:
    try:
        return services.application.get_training(UUID(training_id))
    except (ValueError, errors.TrainingNotFoundError):
        return None


def _execute(
    services: Services,
    store: IdempotencyStore,
    principal: Principal,
    command: Command,
    occurred_on: date | None,
    expected_version: int | None,
    key: str,
    request_fingerprint: str,
) -> StoredResponse:
    """Run the command once for this form's key (or replay the first run's outcome)."""
    meta = services.application.meta(principal.token_id, f"web-{uuid.uuid4()}", occurred_on)
    outcome = store.reserve(
        services.engine, principal.token_id, FORM_KEY_PREFIX + key, request_fingerprint
    )
    if isinstance(outcome, StoredResponse):
        return outcome

    def render(aggregate_id: str, version: int, position: int) -> StoredResponse:
        body = {"id": aggregate_id, "version": version, "position": position}
        return StoredResponse(303, body, {})

    options = WriteOptions(
        expected_version=expected_version, side_writes=[CompletionWrite(outcome, render)]
    )
    try:
        result = services.application.execute(command, meta, options)
    except BaseException:
        store.release(services.engine, outcome)
        raise
    return render(str(result.id), result.version, result.position)


Again = Callable[..., Response]


async def record(
    request: Request,
    principal: Principal,
    chosen: Action,
    aggregate_id: UUID,
    outcome: Outcome,
    again: Again,
    reload: Callable[[], Any],
) -> StoredResponse | Response:
    """Write one form's command on the version its page showed, once per form key.

    Every staff form posts through here. Returns what was written (the first run's, for a
    form sent again); otherwise the page again, `again(status, fresh_state)`, with the
    outcome's errors beside their fields: 422 for a field that does not parse, 409 for a
    stale page (with the aggregate as it is now, from `reload`), for a form already being
    recorded, or for a domain refusal.
    """
    values = outcome.values
    services: Services = request.app.state.services
    try:
        command = chosen.build(aggregate_id, values)
        occurred_on = _date(values, chosen.dated_by) if chosen.dated_by else None
        expected = _int(values, "version") if chosen.versioned else None
    except FieldError as error:
        outcome.errors[error.name] = error.message
        return again(422)
    if occurred_on is not None and chosen.at_most_today:
        occurred_on = min(occurred_on, datetime.now(services.settings.zone).date())
    key = values.get("cle", "")[:100] or secrets.token_urlsafe(18)
    kept = {k: v for k, v in values.items() if k not in ("csrf", "cle")}
    try:
        return await run_in_threadpool(
            _execute,
            services,
            request.app.state.idempotency,
            principal,
            command,
            occurred_on,
            expected,
            key,
            fingerprint("POST", request.url.path, kept),
        )
    except StaleVersionError:
        outcome.stale = True
        return again(409, await run_in_threadpool(reload))
    except (IdempotencyKeyInProgressError, IdempotencyKeyReusedError):
        outcome.errors[WHOLE_FORM] = "in_progress"
        return again(409)
    except errors.DomainError as error:
        outcome.errors[field_for(chosen, error)] = translate(str(error), FRENCH)
        return again(409)


def forms_router(forms: FormPages) -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get("/projets/{project_id}/saisie")
    async def project_forms(request: Request, project_id: str) -> Response:
        """The staff's forms for one project, over its current state (from the event store)."""
        services: Services = request.app.state.services
        return await forms.form_page(
            request, partial(_load, services, project_id), forms.project_page
        )

    @routes.post("/projets/{project_id}/saisie/{action}")
    async def post_project_form(request: Request, project_id: str, action: str) -> Response:
        """One staff form: its command, written once, on the version the page showed."""
        posted = await forms.posted(request)
        if isinstance(posted, Response):
            return posted
        principal, csrf, _values = posted
        return await forms.post_form(
            request,
            posted,
            action,
            ACTIONS.get(action),
            partial(_load, request.app.state.services, project_id),
            partial(forms.project_page, principal, csrf),
            f"/projets/{project_id}/saisie?fait={action}#{action}",
        )

    @routes.get("/projets/nouveau")
    async def new_project(request: Request) -> Response:
        """For lab staff: the form that registers a project of their lab."""
        return await forms.create_page(request, forms.new_project_page)

    @routes.post("/projets/nouveau")
    async def register_project(request: Request) -> Response:
        """Register a project of the signed-in staff member's lab, once per form."""
        return await forms.create(
            request, REGISTER, forms.new_project_page, lambda id_: f"/projets/{id_}/saisie"
        )

    @routes.get("/formations/nouvelle")
    async def new_training(request: Request) -> Response:
        """For lab staff: the form that schedules a training action of their lab."""
        return await forms.create_page(request, forms.schedule_page)

    @routes.post("/formations/nouvelle")
    async def schedule_training(request: Request) -> Response:
        """Schedule a training action of the signed-in staff member's lab, once per form."""
        return await forms.create(
            request,
            SCHEDULE,
            forms.schedule_page,
            lambda id_: f"/formations/{id_}/saisie?fait=nouvelle",
        )

    @routes.get("/formations/{training_id}/saisie")
    async def training_forms(request: Request, training_id: str) -> Response:
        """The staff's forms for one training action: hold it, or cancel it."""
        services: Services = request.app.state.services
        return await forms.form_page(
            request, partial(_load_training, services, training_id), forms.training_page
        )

    @routes.post("/formations/{training_id}/saisie/{action}")
    async def post_training_form(request: Request, training_id: str, action: str) -> Response:
        """Hold or cancel a training action, once, on the version the page showed."""
        posted = await forms.posted(request)
        if isinstance(posted, Response):
            return posted
        principal, csrf, _values = posted
        return await forms.post_form(
            request,
            posted,
            action,
            TRAINING_ACTIONS.get(action),
            partial(_load_training, request.app.state.services, training_id),
            partial(forms.training_page, principal, csrf),
            f"/formations/{training_id}/saisie?fait={action}#etat",
        )

    @routes.get("/admin/acces")
    async def access_requests(request: Request) -> Response:
        """For admins: the people who signed in through the provider and wait for access."""
        signed = await forms.signed_in(request)
        if signed is None:
            return RedirectResponse("/connexion?suite=/admin/acces", status_code=303)
        principal, csrf = signed
        if principal.role is not Role.ADMIN:
            return forms.page("admin_forbidden.html", principal, 403)
        return await forms.access_page(request, principal, csrf)

    @routes.post("/admin/acces")
    async def grant(request: Request) -> Response:
        """For admins: grant a waiting person a role (and a lab), recorded in the admin log."""
        posted = await forms.posted(request)
        if isinstance(posted, Response):
            return posted
        principal, csrf, values = posted
        if principal.role is not Role.ADMIN:
            return forms.page("admin_forbidden.html", principal, 403)
        services: Services = request.app.state.services
        person_id = values.get("person_id", "")
        lab = values.get("lab", "").strip() or None
        try:
            role = Role(values.get("role", ""))
            if role is not Role.STAFF:
                lab = None
            elif lab is None:
                raise TokenRequestError("a staff token needs a lab (--lab SLUG)")
            else:
                await run_in_threadpool(services.application.get_lab, lab)
            meta = services.application.meta(principal.token_id, f"web-{uuid.uuid4()}")
            await run_in_threadpool(
                grant_access, services.application, services.engine, person_id, role, lab, meta
            )
        except (errors.DomainError, TokenRequestError) as error:
            message = translate(str(error), FRENCH)
            return await forms.access_page(request, principal, csrf, 409, person_id, message)
        except ValueError:  # not a role
            return await forms.access_page(request, principal, csrf, 422, person_id, "role")
        return RedirectResponse("/admin/acces?fait=1", status_code=303)

    return routes


__all__ = ["ACTIONS", "TRAINING_ACTIONS", "FormPages", "forms_router"]
