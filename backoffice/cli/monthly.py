"""``flask --app app monthly run --period 2026-10``: the monthly cycle (Art.12–15)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from backoffice.services.calendar import CalendarError
from backoffice.services.monthly import PeriodError, parse_period

monthly_cli = AppGroup("monthly", help="The monthly overdue cycle.")


@monthly_cli.command("run")
@click.option("--period", required=True, help="YYYY-MM, e.g. 2026-10")
@click.option("--inline", is_flag=True, help="Run here, without Redis and workers.")
def monthly_run_command(period: str, inline: bool) -> None:
    """Generate the period's reports, confirmation forms and statements (idempotent)."""
    from backoffice.cli import cli_actor, queue_unavailable
    from backoffice.services import audit
    from jobs import QueueUnavailable
    from jobs.monthly import run_period
    from jobs.resume import resume_monthly

    try:
        parse_period(period)
    except PeriodError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from exc
    with audit.acting_as(cli_actor()):
        try:
            if inline:
                result = run_period(period, inline=True)
                click.echo(
                    f"{period}: {result['reports']} reports, {result['forms']} forms, "
                    f"{result['statements']} statements"
                )
                return
            resumed = resume_monthly(period)
        except CalendarError as exc:
            raise click.ClickException(str(exc)) from exc
        except QueueUnavailable as exc:
            raise queue_unavailable(exc) from None
    click.echo(resumed.line)
