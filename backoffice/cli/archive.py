"""``flask --app app archive year-end --year 2026`` and ``archive verify ARCHIVE_NO|--all``."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from backoffice.extensions import db

archive_cli = AppGroup("archive", help="The sealed archive (Art.22).")


@archive_cli.command("year-end")
@click.option("--year", type=int, required=True)
@click.option("--inline", is_flag=True, help="Run here instead of on a worker.")
def year_end_command(year: int, inline: bool) -> None:
    """Transfer the cases closed in YEAR into the archive room (idempotent)."""
    from backoffice.cli import cli_actor, queue_unavailable
    from backoffice.services import archive, audit
    from jobs import QueueUnavailable
    from jobs.resume import resume_year_end

    if not 2000 <= year <= 2100:
        raise click.BadParameter("a four-digit year, e.g. 2026", param_hint="--year")
    with audit.acting_as(cli_actor()):
        if inline:
            result = archive.year_end_transfer(db.session, year)
            click.echo(
                f"{year}: archived {len(result.archived)} case(s)"
                + (f": {', '.join(result.archived)}" if result.archived else "")
            )
            return
        try:
            resumed = resume_year_end(year)
        except QueueUnavailable as exc:
            raise queue_unavailable(exc) from None
    click.echo(resumed.line)


@archive_cli.command("verify")
@click.argument("archive_no", required=False)
@click.option("--all", "check_all", is_flag=True, help="Verify every archive.")
def verify_command(archive_no: str | None, check_all: bool) -> None:
    """Check archives against their manifests; name every mismatch and exit 1 if any."""
    from backoffice.models.archive import ArchiveRecord
    from backoffice.services import archive

    if bool(archive_no) == check_all:
        raise click.UsageError("give one ARCHIVE_NO or --all")
    from backoffice.models.balance_archive import BalanceConfirmationArchive
    from backoffice.services import balance_archive

    query = select(ArchiveRecord).order_by(ArchiveRecord.archive_no)
    replies = select(BalanceConfirmationArchive).order_by(BalanceConfirmationArchive.archive_no)
    if archive_no:
        query = query.where(ArchiveRecord.archive_no == archive_no)
        replies = replies.where(BalanceConfirmationArchive.archive_no == archive_no)
    records = db.session.scalars(query).all()
    packages = db.session.scalars(replies).all()
    if not records and not packages:
        raise click.ClickException(f"no archive {archive_no!r}" if archive_no else "no archives")
    problems = []
    # Issue 15: the debtors' reply packages of the year, verified the same way.
    for package in packages:
        found = [
            archive.Mismatch(package.archive_no, where, reason)
            for where, reason in balance_archive.verify(db.session, package)
        ]
        problems.extend(found)
        if not found:
            click.echo(f"{package.archive_no}: intact ({package.requests} replies)")
    for record in records:
        found = archive.verify(db.session, record)
        problems.extend(found)
        if not found:
            note = archive.manifest_note(record)  # an older manifest is not a mismatch
            click.echo(f"{record.archive_no}: intact" + (f" ({note})" if note else ""))
    for p in problems:
        click.echo(f"MISMATCH {p}", err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} mismatch(es)")
