"""Flask CLI commands (names fixed by issue 2 and documented in the README)."""

from __future__ import annotations

import getpass
import sys

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select

from backoffice.extensions import db
from backoffice.models.audit import AuditLog
from backoffice.models.org import SalesUnit
from backoffice.models.user import RoleName, User
from backoffice.services import accounts, audit


def cli_actor() -> audit.Actor:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return audit.Actor(None, f"cli:{who}")


def queue_unavailable(exc: Exception) -> click.ClickException:
    """The one line a command prints when it cannot queue its job (no traceback, no row)."""
    return click.ClickException(
        f"cannot queue the job: {exc}. Start the app with the run command (bash scripts/run.sh), "
        "set REDIS_URL to a running Redis, or run it here with --inline."
    )


users_cli = AppGroup("users", help="Manage users.")
audit_cli = AppGroup("audit", help="The audit trail.")


@users_cli.command("create")
@click.argument("name")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([r.value for r in RoleName]),
    help="Repeat for several roles.",
)
@click.option("--unit", "units", multiple=True, help="Sales unit code (repeatable).")
@click.option("--display-name", default=None)
@click.option("--employee-code", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(name, roles, units, display_name, employee_code, password_stdin):
    """Create user NAME with one or more roles."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = accounts.password_problem(password)
    if problem:
        raise click.UsageError(f"password too weak: {problem}")
    with audit.acting_as(cli_actor()):
        if db.session.scalar(select(User).where(User.username == name)):
            raise click.UsageError(f"user {name!r} exists already")
        role_rows = accounts.ensure_roles(db.session)
        unit_rows = []
        for code in units:
            unit = db.session.scalar(select(SalesUnit).where(SalesUnit.code == code))
            if unit is None:
                raise click.UsageError(f"unknown sales unit code {code!r}")
            unit_rows.append(unit)
        user = User(
            username=name,
            display_name=display_name or name,
            employee_code=employee_code,
            password_hash=accounts.hash_password(password),
            roles=[role_rows[RoleName(r)] for r in roles],
            sales_units=unit_rows,
        )
        db.session.add(user)
        db.session.commit()
    click.echo(f"created user {name} ({', '.join(roles)})")


@audit_cli.command("verify")
def audit_verify():
    """Check the chain's HMACs and links against the signed checkpoints (a cut tail or a
    re-hash shows); name the first broken entry and exit 1 if any."""
    from backoffice.services import checkpoints
    from backoffice.services.storage import StorageError

    try:
        known = checkpoints.load(db.session)
    except (StorageError, OSError) as exc:
        raise click.ClickException(f"checkpoints unreadable: {exc}") from exc
    problems = audit.verify_chain(db.session, known=known)
    if not problems:
        count = db.session.scalar(select(func.count()).select_from(AuditLog))
        latest = checkpoints.latest(known)
        click.echo(
            f"audit chain intact: {count} entries; "
            + (
                f"latest checkpoint: seq {latest.seq} ({latest.source})"
                if latest
                else "no checkpoint yet (a cut tail shows only after one is written)"
            )
        )
        return
    for p in problems:
        where = f"entry seq={p.seq}" + (f" (id {p.id})" if p.id is not None else "")
        click.echo(f"BROKEN {where}: {p.reason}", err=True)
    first = problems[0]
    raise click.ClickException(f"audit chain broken at seq {first.seq}: {first.reason}")


@click.command("seed-demo")
@click.option("--force", is_flag=True, help="Seed even if demo data exists.")
def seed_demo(force):
    """Load realistic demo data with one demo user per role."""
    from backoffice.services.demo import DEMO_PASSWORD, seed_demo_data

    with audit.acting_as(cli_actor()):
        created = seed_demo_data(force=force)
    if not created:
        click.echo("demo data already present; nothing done")
        return
    click.echo(f"demo data loaded; every demo user's password is {DEMO_PASSWORD}")


@click.command("setup")
def setup_command():
    """Load the reference data every installation needs (idempotent): published calendar
    years, overdue sub-reasons (Art.14), write-off materials (Annex 6)."""
    from backoffice.services.reference import ensure_reference_data

    with audit.acting_as(cli_actor()):
        added = ensure_reference_data(db.session)
        db.session.commit()
    click.echo("reference data: " + ", ".join(f"{k} +{v}" for k, v in added.items()))


def register_commands(app: Flask) -> None:
    from backoffice.cli.processes import (
        reconcile_command,
        scheduler_command,
        serve_command,
        worker_command,
    )

    app.cli.add_command(users_cli)
    import backoffice.cli.audit_keys  # noqa: F401 - adds checkpoint and rotate-key to audit_cli

    app.cli.add_command(audit_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(setup_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(serve_command)
    app.cli.add_command(reconcile_command)

    from backoffice.cli.imports import import_cli

    app.cli.add_command(import_cli)

    from backoffice.cli.calendar import calendar_cli

    app.cli.add_command(calendar_cli)

    from backoffice.cli.monthly import monthly_cli

    app.cli.add_command(monthly_cli)

    from backoffice.cli.archive import archive_cli

    app.cli.add_command(archive_cli)

    from backoffice.cli.escalate import escalate_command

    app.cli.add_command(escalate_command)
