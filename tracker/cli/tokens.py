"""`tracker token create|list|revoke`: bearer tokens for the API (registered by `register`).

`create` prints the token alone on standard output, so `T=$(tracker token create ...)`
works; everything else goes to standard error.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from domain.errors import InvalidValueError, LabNotFoundError
from tracker.application.access import (
    Role,
    TokenRequestError,
    create_token,
    list_tokens,
    revoke_token,
)
from tracker.application.people import (
    PersonAlreadyForgottenError,
    PersonNotFoundError,
    person_for_token,
)
from tracker.application.services import Services
from tracker.cli.failures import describe_failure
from tracker.cli.support import fail, load_settings, require_existing_database
from tracker.store.engines import create_db_engine

tokens = typer.Typer(help="Bearer tokens for the API.", no_args_is_help=True)


@tokens.command("create")
def create(
    role: Annotated[Role, typer.Option(help="admin, staff (needs --lab), viewer or auditor.")],
    lab: Annotated[str | None, typer.Option(help="The lab a staff token writes for.")] = None,
    name: Annotated[str, typer.Option(help="Who or what holds the token.")] = "",
    expires_in_days: Annotated[
        int | None,
        typer.Option(min=1, help="The token stops working after this many days (default: never)."),
    ] = None,
    person: Annotated[
        str | None,
        typer.Option(
            help="The person it is issued to: a name (recorded in tracker people) or an "
            "existing person's id (per_…); histories then show their name."
        ),
    ] = None,
) -> None:
    """Create a token and print it, once, alone on standard output."""
    lifetime = timedelta(days=expires_in_days) if expires_in_days is not None else None
    services = Services.open(load_settings())
    try:
        if lab is not None and role is Role.STAFF:
            services.application.get_lab(lab)  # a staff token for a lab that does not exist
        person_id = person_for_token(services.engine, person) if person else None
        # The row and the admin log's TokenCreated commit together, or neither does.
        token_id, token = create_token(
            services.application,
            role,
            lab=lab,
            name=name,
            expires_in=lifetime,
            person_id=person_id,
        )
    except (
        TokenRequestError,
        InvalidValueError,
        PersonNotFoundError,
        PersonAlreadyForgottenError,
    ) as error:
        raise fail(str(error)) from None
    except LabNotFoundError:
        raise fail(
            f"no lab {lab!r}: register it first (POST /api/v1/labs), or pick one of"
            " GET /api/v1/labs"
        ) from None
    except Exception as error:
        raise fail(f"cannot store the token: {describe_failure(error)}") from None
    finally:
        services.close()
    issued = f", for {person_id}" if person_id else ""
    typer.echo(
        f"created {token_id} ({role.value}{f', lab {lab}' if lab else ''}{issued})", err=True
    )
    typer.echo(token)


@tokens.command("list")
def list_() -> None:
    """List every token (never the secrets): id, role, lab, created, state, name, expiry."""
    settings = load_settings()
    require_existing_database(settings)
    engine = create_db_engine(settings)
    try:
        infos = list_tokens(engine)
    except Exception as error:
        raise fail(f"cannot read the tokens: {describe_failure(error)}") from None
    finally:
        engine.dispose()
    for info in infos:
        revoked = info.revoked_at.isoformat(timespec="seconds") if info.revoked_at else "-"
        expires = info.expires_at.isoformat(timespec="seconds") if info.expires_at else "never"
        typer.echo(
            "\t".join(
                [
                    info.token_id,
                    info.role.value,
                    info.lab or "-",
                    info.created_at.isoformat(timespec="seconds"),
                    f"revoked {revoked}" if info.revoked_at else info.state(),
                    info.name,
                    f"expires {expires}",
                ]
            )
        )


@tokens.command("revoke")
def revoke(token_id: Annotated[str, typer.Argument(help="The token's id (tok_…).")]) -> None:
    """Revoke a token: it stops working at once."""
    services = Services.open(load_settings())
    try:
        revoked = revoke_token(services.application, services.engine, token_id)
    except Exception as error:
        raise fail(f"cannot revoke the token: {describe_failure(error)}") from None
    finally:
        services.close()
    if not revoked:
        raise fail(f"no active token {token_id!r}")
    typer.echo(f"revoked {token_id}", err=True)


def register(cli: typer.Typer) -> None:
    """Add `tracker token ...` to the `tracker` CLI."""
    cli.add_typer(tokens, name="token")
