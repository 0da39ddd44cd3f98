"""``flask import receivables|payments FILE``: the ERP import from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from backoffice.cli import cli_actor
from backoffice.extensions import db
from backoffice.models.receivable import ImportKind, ImportStatus
from backoffice.services import audit, importer

import_cli = AppGroup("import", help="Import receivables or payments from an ERP export.")


def _options(func):
    func = click.option("--company", "company_code", default=None, help="Default company code.")(
        func
    )
    func = click.option(
        "--valid-only", is_flag=True, help="Apply the valid rows even if some rows are bad."
    )(func)
    func = click.option("--dry-run", is_flag=True, help="Check and report; change nothing.")(func)
    return click.argument("file", type=click.Path(exists=True, dir_okay=False))(func)


def _run(kind: ImportKind, file: str, dry_run: bool, valid_only: bool, company_code: str | None):
    with audit.acting_as(cli_actor()):
        batch = importer.import_file(
            db.session,
            file,
            kind,
            filename=Path(file).name,
            dry_run=dry_run,
            valid_only=valid_only,
            company_code=company_code,
        )
    report = batch.report or {}
    click.echo(
        f"import #{batch.id} {kind.value} {batch.filename}: {batch.status.value} — "
        f"{batch.rows_total} rows, {batch.rows_created} created, {batch.rows_updated} updated, "
        f"{batch.rows_unchanged} unchanged, {batch.rows_error} bad"
        + (" (dry run: nothing changed)" if batch.dry_run else "")
    )
    if report.get("fatal"):
        click.echo(f"  {report['fatal']}", err=True)
    for customer in report.get("new_customers", []):
        click.echo(
            f"  new customer {customer['code']} {customer['name']} (line {customer['line']})"
        )
    for issue in report.get("warnings", []):
        click.echo(f"  warning line {issue['line']} {issue['column'] or ''}: {issue['message']}")
    for issue in report.get("errors", []):
        where = f"line {issue['line']}" if issue["line"] else "file"
        value = f" [{issue['value']}]" if issue.get("value") else ""
        click.echo(f"  ERROR {where} {issue['column'] or ''}{value}: {issue['message']}", err=True)
    stopped = batch.status in (ImportStatus.REJECTED, ImportStatus.FAILED)
    if stopped or (batch.dry_run and batch.rows_error and not batch.valid_only):
        sys.exit(1)


@import_cli.command("receivables")
@_options
def import_receivables(file, dry_run, valid_only, company_code):
    """Import receivables (应收账款) from FILE (.xlsx or .csv)."""
    _run(ImportKind.RECEIVABLES, file, dry_run, valid_only, company_code)


@import_cli.command("payments")
@_options
def import_payments(file, dry_run, valid_only, company_code):
    """Import payments and credit notes (回款 / 红字) from FILE (.xlsx or .csv)."""
    _run(ImportKind.PAYMENTS, file, dry_run, valid_only, company_code)


@import_cli.command("verify")
@click.argument("batch_id", type=int)
def import_verify(batch_id):
    """Check the audit trail of import BATCH_ID: every chunk entry matches the hash of its
    rows and every receivable the batch wrote has its entry (the chain itself: audit verify)."""
    problems = importer.verify_batch(db.session, batch_id)
    for problem in problems:
        click.echo(f"  {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo(f"import #{batch_id}: audit trail complete")
