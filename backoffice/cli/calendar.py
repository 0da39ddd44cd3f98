"""``flask --app app calendar ...``: load published years, start a year by hand, show dates."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from backoffice.extensions import db
from backoffice.services import audit
from backoffice.services import calendar as cal

calendar_cli = AppGroup("calendar", help="The working-day calendar (holidays and 调休 days).")


def _actor() -> audit.Actor:
    from backoffice.cli import cli_actor

    return cli_actor()


@calendar_cli.command("load")
@click.option("--year", type=int, default=None, help="Only this year (default: every published).")
def calendar_load(year: int | None) -> None:
    """Load published years from the chinesecalendar package (years present are kept)."""
    with audit.acting_as(_actor()):
        try:
            if year is None:
                loaded = cal.ensure_published_years(db.session)
            else:
                before = db.session.get(cal.CalendarYear, year)
                cal.load_year(db.session, year)
                loaded = [] if before is not None else [year]
        except cal.CalendarError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
    years = cal.package_years()
    if loaded:
        click.echo(f"loaded {', '.join(map(str, loaded))} from {cal.PACKAGE_SOURCE}")
    else:
        click.echo(f"nothing to load; {cal.PACKAGE_SOURCE} covers {years[0]}–{years[-1]}")


@calendar_cli.command("start")
@click.option("--year", type=int, required=True)
@click.option("--note", default=None, help="E.g. the State Council notice's number.")
def calendar_start(year: int, note: str | None) -> None:
    """Create YEAR for manual entry (weekdays working), then edit its days in the admin."""
    with audit.acting_as(_actor()):
        try:
            cal.start_year(db.session, year, note=note)
        except ValueError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
    click.echo(
        f"{year} started: Monday–Friday working, weekends off. Now enter the official holidays "
        f"and make-up working days in System → Working-day calendar."
    )


@calendar_cli.command("dispatch-days")
@click.option("--year", type=int, required=True)
def calendar_dispatch_days(year: int) -> None:
    """Print the monthly report's dispatch day (Art.12) for each month of YEAR."""
    work = cal.WorkCalendar(db.session)
    try:
        for month in range(1, 13):
            click.echo(f"{year}-{month:02d}  {work.dispatch_day(year, month).isoformat()}")
    except cal.CalendarMissing as exc:
        raise click.ClickException(str(exc)) from exc
