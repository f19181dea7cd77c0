"""`tracker audit|events|people`: verify the log, export and import it; people's names, forgetting
them, and the access of people who sign in through the identity provider.

Registered on the main CLI by `register`. Results go to standard output, progress bars and
errors to standard error; `audit verify` exits 1 when it finds anything.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from domain.errors import InvalidValueError, LabNotFoundError
from tracker.application.access import Role, TokenRequestError
from tracker.application.commands import RecordAuditVerified, RecordEventsImported
from tracker.application.people import (
    PersonAlreadyForgottenError,
    PersonNotFoundError,
    add_person,
    forget_person,
)
from tracker.application.services import Services
from tracker.application.sign_in import PersonNeverSignedInError, grant_access, waiting_people
from tracker.audit.export import (
    ExportFileError,
    canonical_json,
    export_log,
    import_log,
    manifest_path,
)
from tracker.audit.verify import (
    Finding,
    Witness,
    WitnessFileError,
    check_projections,
    latest_witness,
    verify,
)
from tracker.cli.support import fail, load_settings, record_admin, require_existing_database
from tracker.store.interface import StoreNotEmptyError
from tracker.store.signing import SigningKeyError, generate_key_file

audit = typer.Typer(
    help="Verify the event log's hash chains and signatures; keys and witnesses.",
    no_args_is_help=True,
)

events = typer.Typer(help="Export the event log, or import an export.", no_args_is_help=True)

people_cli = typer.Typer(help="People's names, kept outside the log.", no_args_is_help=True)

stderr = Console(stderr=True)


@contextmanager
def _services(*, existing: bool = False, adopt_signing_key: bool = True) -> Iterator[Services]:
    """The services; with `existing`, refuse to create a SQLite database that is missing."""
    settings = load_settings()
    if existing:
        require_existing_database(settings)
    try:
        services = Services.open(settings, adopt_signing_key)
    except Exception as error:
        raise fail(f"cannot open the database: {type(error).__name__}: {error}") from None
    try:
        yield services
    finally:
        services.close()


def _progress(unit: str) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    )


@audit.command("verify")
def verify_command(
    actor: Annotated[str, typer.Option(help="Who runs it, as recorded in the admin log.")] = "cli",
    projections: Annotated[
        bool,
        typer.Option(
            help="Also rebuild the projections aside and compare them with the live ones."
        ),
    ] = True,
    witness: Annotated[
        Path | None,
        typer.Option(help="A witness (`tracker audit witness --out`): the log must hold it."),
    ] = None,
) -> None:
    """Recompute every hash, checkpoint and signed head, check the projections; print findings."""
    try:
        held = Witness.read(witness) if witness is not None else None
    except WitnessFileError as error:
        raise fail(str(error)) from None
    with _services(existing=True) as services:
        projection_findings: list[Finding] | None = None
        with _progress("positions") as progress:
            task = progress.add_task("verifying the chains", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            try:
                started = time.perf_counter()
                report = verify(services.application, on_progress=advance, witness=held)
                chain_seconds = time.perf_counter() - started
                # A tampered log cannot be rebuilt meaningfully: its findings come first.
                if projections and report.intact:
                    progress.update(task, description="checking projections", completed=0)
                    started = time.perf_counter()
                    projection_findings = check_projections(services, advance)
                    projection_seconds = time.perf_counter() - started
            except Exception as error:
                message = f"verification stopped: {type(error).__name__}: {error}"
                raise fail(message, code=2) from None
        for finding in report.findings:
            typer.echo(str(finding))
        rate = report.events / chain_seconds if chain_seconds > 0 else 0.0
        typer.echo(f"{report.summary()}; in {chain_seconds:.2f} s ({rate:,.0f} events/s)")
        if projection_findings is not None:
            for finding in projection_findings:
                typer.echo(str(finding))
            verdict = (
                "intact" if not projection_findings else f"{len(projection_findings)} finding(s)"
            )
            typer.echo(
                f"projections: {verdict}, rebuilt aside and compared in {projection_seconds:.2f} s"
            )
            report.findings.extend(projection_findings)
        record_admin(
            services,
            RecordAuditVerified(
                events=report.events,
                last_position=report.last_position,
                findings=len(report.findings),
            ),
            actor,
        )
    if not report.intact:
        raise typer.Exit(1)


@audit.command("keygen")
def keygen_command(
    out: Annotated[Path, typer.Option(help="The new private key file (mode 0600).")],
) -> None:
    """Make an Ed25519 signing key; name it in TRACKER_AUDIT_SIGNING_KEY_FILE."""
    try:
        signer = generate_key_file(out)
    except SigningKeyError as error:
        raise fail(str(error)) from None
    typer.echo(f"{signer.key_id} {signer.public_key}")
    typer.echo(
        f"wrote {out} (keep it off the database's machine and backups); "
        f"set TRACKER_AUDIT_SIGNING_KEY_FILE={out} and restart: the key is published in the "
        "admin log when the store next opens",
        err=True,
    )


@audit.command("keys")
def keys_command() -> None:
    """Print the public keys that sign this store's history (key id, public key, hex)."""
    with _services() as services:
        keys = services.application.signing_keys()
        signer = services.application.signer
    if not keys:
        typer.echo("history unsigned: no signing key (TRACKER_AUDIT_SIGNING_KEY_FILE)", err=True)
    for key_id, public_key in sorted(keys.items()):
        current = " current" if signer is not None and signer.key_id == key_id else ""
        typer.echo(f"{key_id} {public_key}{current}")


@audit.command("witness")
def witness_command(
    out: Annotated[Path | None, typer.Option(help="Write the witness here.")] = None,
) -> None:
    """Print the latest signed head (JSON) to keep outside the database."""
    with _services() as services:
        found = latest_witness(services.application)
    if found is None:
        raise fail("no signed head: the history is unsigned (TRACKER_AUDIT_SIGNING_KEY_FILE)")
    text = json.dumps(found.as_dict(), indent=2, sort_keys=True) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        raise fail(f"cannot write the witness: {error}") from None
    typer.echo(f"wrote the signed head at position {found.head.position} to {out}", err=True)


@events.command("export")
def export_command(
    out: Annotated[
        Path | None,
        typer.Option(help="Write the NDJSON here and the manifest beside it (FILE.manifest.json)."),
    ] = None,
) -> None:
    """Export the whole log as NDJSON with a SHA-256 manifest (to stdout without --out)."""
    with _services(existing=True) as services, _progress("positions") as progress:
        task = progress.add_task("exporting", total=None)

        def advance(done: int, total: int) -> None:
            if done % 100 == 0 or done == total:
                progress.update(task, completed=done, total=total)

        try:
            if out is None:
                manifest = export_log(
                    services.application, sys.stdout.buffer, advance, services.read_engine
                )
                sys.stdout.buffer.flush()
            else:
                try:
                    with out.open("wb") as stream:
                        manifest = export_log(
                            services.application, stream, advance, services.read_engine
                        )
                except BaseException:
                    out.unlink(missing_ok=True)  # no half-written or empty export left behind
                    raise
                manifest_path(out).write_bytes(canonical_json(manifest) + b"\n")
        except OSError as error:
            raise fail(f"cannot write the export: {error}") from None
    if out is None:
        typer.echo(canonical_json(manifest).decode(), err=True)
    typer.echo(
        f"exported {manifest['count']} events (positions {manifest['first_position']}.."
        f"{manifest['last_position']}), sha256 {manifest['sha256']}",
        err=True,
    )


@events.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="An NDJSON export (its manifest beside it).")],
    actor: Annotated[str, typer.Option(help="Who runs it, as recorded in the admin log.")] = "cli",
) -> None:
    """Import an export into an EMPTY store: same positions, same bytes, same hashes."""
    if not file.is_file():
        raise fail(f"{file} is not a file")
    # The store must stay empty until the import: its signing key is recorded after it.
    with _services(adopt_signing_key=False) as services, _progress("events") as progress:
        task = progress.add_task("importing", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total or None)

        try:
            result = import_log(services.application, file, advance)
        except (StoreNotEmptyError, ExportFileError) as error:
            raise fail(str(error)) from None
        record_admin(
            services,
            RecordEventsImported(
                count=result.count,
                last_position=result.last_position,
                running_hash=result.running_hash,
                file_sha256=result.file_sha256,
            ),
            actor,
        )
        services.application.adopt_signing_key(actor)
    typer.echo(
        f"imported {result.count} events up to position {result.last_position}, "
        f"running hash {result.running_hash}",
        err=True,
    )


@people_cli.command("add")
def people_add(
    name: Annotated[str, typer.Argument(help="The person's display name.")],
    email: Annotated[str | None, typer.Option(help="A contact address.")] = None,
) -> None:
    """Record a person's name; print the pseudonymous id (alone on standard output)."""
    with _services() as services:
        try:
            person_id = add_person(services.engine, name, email)
        except InvalidValueError as error:
            raise fail(str(error)) from None
    typer.echo(person_id)


@people_cli.command("forget")
def people_forget(
    person_id: Annotated[str, typer.Argument(metavar="ID", help="The person's id.")],
    reason: Annotated[str | None, typer.Option(help="Why (recorded in the admin log).")] = None,
    actor: Annotated[str, typer.Option(help="Who runs it, as recorded in the admin log.")] = "cli",
) -> None:
    """Erase a person's name and e-mail; record PersonForgotten (the id only) in the admin log."""
    with _services() as services:
        application = services.application
        meta = application.meta(actor, f"cli-{uuid.uuid4()}")
        try:
            result = forget_person(application, services.engine, person_id, meta, reason)
        except (PersonNotFoundError, PersonAlreadyForgottenError) as error:
            raise fail(str(error)) from None
    typer.echo(f"forgot {person_id} (admin log position {result.position})", err=True)


@people_cli.command("grant")
def people_grant(
    person_id: Annotated[str, typer.Argument(metavar="PERSON", help="The person's id (per_…).")],
    role: Annotated[Role, typer.Option(help="admin, staff (needs --lab), viewer or auditor.")],
    lab: Annotated[str | None, typer.Option(help="The lab a staff member writes for.")] = None,
    actor: Annotated[str, typer.Option(help="Who runs it, as recorded in the admin log.")] = "cli",
) -> None:
    """Give a person who signed in through the identity provider a role (and lab); a new
    grant replaces theirs. Prints the grant's id (the actor of their events)."""
    with _services() as services:
        application = services.application
        meta = application.meta(actor, f"cli-{uuid.uuid4()}")
        try:
            if lab is not None and role is Role.STAFF:
                application.get_lab(lab)
            token_id = grant_access(application, services.engine, person_id, role, lab, meta)
        except (
            PersonNotFoundError,
            PersonAlreadyForgottenError,
            PersonNeverSignedInError,
            TokenRequestError,
        ) as error:
            raise fail(str(error)) from None
        except LabNotFoundError:
            raise fail(f"no lab {lab!r}: pick one of GET /api/v1/labs") from None
    typer.echo(token_id)
    typer.echo(f"granted {role.value}{f' of {lab}' if lab else ''} to {person_id}", err=True)


@people_cli.command("waiting")
def people_waiting() -> None:
    """The people who signed in through the identity provider and wait for access."""
    with _services() as services:
        waiting = waiting_people(services.engine)
    for person in waiting:
        typer.echo(
            f"{person.person_id}\t{person.first_signed_in_at:%Y-%m-%d %H:%M}\t"
            f"{person.display_name or ''}\t{person.email or ''}"
        )
    if not waiting:
        typer.echo("nobody waits for access", err=True)


def register(cli: typer.Typer) -> None:
    """Add this module's commands to the `tracker` CLI."""
    cli.add_typer(audit, name="audit")
    cli.add_typer(events, name="events")
    cli.add_typer(people_cli, name="people")
