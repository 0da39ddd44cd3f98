"""``flask --app app escalate [--as-of DATE]``: run the Art.16 escalation now, in this process."""

from __future__ import annotations

from datetime import date, datetime

import click

from backoffice.extensions import db


@click.command("escalate")
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="The day to escalate as of (YYYY-MM-DD); default today in Asia/Shanghai.",
)
def escalate_command(as_of: str | None) -> None:
    """Watch-list debts over 3 months overdue and file cases over 6 months (idempotent)."""
    from backoffice.cli import cli_actor
    from backoffice.models.base import SHANGHAI
    from backoffice.services import audit, cases

    if as_of:
        try:
            day = date.fromisoformat(as_of)
        except ValueError:
            raise click.BadParameter("a date such as 2026-08-01", param_hint="--as-of") from None
    else:
        day = datetime.now(SHANGHAI).date()
    with audit.acting_as(cli_actor()):
        result = cases.escalate(db.session, day)
        db.session.commit()
    click.echo(
        f"{day}: {len(result.watch_listed)} customer(s) on the watch list, "
        f"{len(result.filed)} case(s) filed"
        + (f": {', '.join(result.filed)}" if result.filed else "")
    )
