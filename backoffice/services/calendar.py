"""The Chinese working-day calendar (工作日) and the dates of the monthly cycle (Art.12–15).

Art.12: the monthly overdue report goes out on the 3rd of each month, moved to the next working
day when the 3rd is a weekend or a public holiday; every later deadline (Art.13–15) counts in
working days. Working days follow the State Council's holiday notice, including the weekend
make-up working days (调休上班).

The days live in the database (``CalendarYear`` + ``CalendarDay``) so that an admin can enter a
year before any library publishes it, or mark a company day off. Published years are loaded from
the ``chinesecalendar`` package; a year the package does not cover is refused, never guessed
(``holidays.China`` guesses, so it is not used). Date arithmetic over a year without a
``CalendarYear`` row raises ``CalendarMissing`` naming the year.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import chinese_calendar
from flask_babel import lazy_gettext
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from backoffice.models.audit import AuditAction
from backoffice.models.calendar import CalendarDay, CalendarYear
from backoffice.services import audit

DISPATCH_DAY_OF_MONTH = 3  # Art.12
PACKAGE_SOURCE = f"chinesecalendar {chinese_calendar.__version__}"


class CalendarError(Exception):
    """Base of the calendar's refusals."""


class CalendarMissing(CalendarError):
    """The calendar has no data for a year: working days there are unknown, so we refuse."""

    def __init__(self, year: int, detail: str | None = None) -> None:
        self.year = year
        message = (
            f"The working-day calendar has no data for {year}: enter {year}'s official holiday "
            f"notice (System → Calendar years / Working-day calendar, or "
            f"`flask --app app calendar start --year {year}`) before using dates in {year}."
        )
        super().__init__(f"{message} {detail}" if detail else message)


class YearNotPublished(CalendarError):
    """The ``chinesecalendar`` package has no data for a year; it must be entered by hand."""

    def __init__(self, year: int) -> None:
        self.year = year
        first, last = package_years()[0], package_years()[-1]
        super().__init__(
            f"{PACKAGE_SOURCE} has no holiday data for {year} (it covers {first}–{last}); "
            f"{year} is not published there. Enter it by hand: "
            f"`flask --app app calendar start --year {year}`, then edit its days."
        )


def _said(message) -> str:
    """An audit detail (a lazy string) in the system's language: the auditor reads it."""
    with audit.in_system_language():
        return str(message)


def package_years() -> range:
    """The years the installed ``chinesecalendar`` has official data for."""
    return range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)


def _days_of(year: int) -> Iterable[date]:
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


def _holiday_name(english: str | None) -> str | None:
    """The Chinese name (春节, 国庆节…) of a chinesecalendar holiday value."""
    if english is None:
        return None
    try:
        return chinese_calendar.Holiday(english).chinese
    except ValueError:
        return english


def _package_day(day: date) -> tuple[bool, str | None]:
    """(is_workday, name) for one day, from the package; raises YearNotPublished."""
    try:
        is_rest, english = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError as exc:  # the package's way of saying "no data for this year"
        raise YearNotPublished(day.year) from exc
    name = _holiday_name(english)
    if not is_rest and name is not None:
        name = f"{name}（调休上班）"  # a weekend make-up working day
    return (not is_rest), name


def load_year(session: Session, year: int) -> CalendarYear:
    """Fill the calendar for ``year`` from the ``chinesecalendar`` package.

    Adds the ``CalendarYear`` row (source ``chinesecalendar <version>``) and one ``CalendarDay``
    per day, with holiday names and the make-up working days (调休), plus one audit entry, in
    the session's transaction; the caller commits. Idempotent: a year already present (loaded or
    entered by an admin) is returned unchanged, so admin edits are never overwritten. Raises
    ``YearNotPublished`` for a year the package does not cover (2027 with 1.11), before writing.
    """
    existing = session.get(CalendarYear, year)
    if existing is not None:
        return existing
    rows = []
    for day in _days_of(year):
        is_workday, name = _package_day(day)
        rows.append({"day": day, "is_workday": is_workday, "name": name})
    cal_year = CalendarYear(year=year, source=PACKAGE_SOURCE)
    session.add(cal_year)
    session.flush()
    # One bulk insert for the 365 days; the audit trail gets one summary entry instead.
    session.execute(insert(CalendarDay), rows)
    audit.record(
        session,
        AuditAction.CREATE,
        entity="calendar_year",
        entity_id=year,
        detail=_said(
            lazy_gettext(
                "Calendar %(year)s loaded: %(n)s days from %(source)s",
                year=year,
                n=len(rows),
                source=PACKAGE_SOURCE,
            )
        ),
    )
    return cal_year


def ensure_published_years(session: Session) -> list[int]:
    """Load every year the package covers that the calendar lacks; returns the years loaded.

    Safe to run any number of times (years present are left alone); the caller commits.
    """
    present = set(session.scalars(select(CalendarYear.year)))
    loaded = []
    for year in package_years():
        if year not in present:
            load_year(session, year)
            loaded.append(year)
    return loaded


def start_year(
    session: Session, year: int, source: str = "admin", note: str | None = None
) -> CalendarYear:
    """Create ``year`` for manual entry: Monday–Friday working, weekends rest days.

    An admin then edits the days from the official notice (holidays, 调休 make-up days) in the
    admin's Working-day calendar. Adds the rows and one audit entry; the caller commits. Raises
    ``ValueError`` if the year exists already (nothing is overwritten).
    """
    if session.get(CalendarYear, year) is not None:
        raise ValueError(f"the calendar has {year} already")
    cal_year = CalendarYear(year=year, source=source, note=note)
    session.add(cal_year)
    session.flush()
    rows = [{"day": d, "is_workday": d.weekday() < 5, "name": None} for d in _days_of(year)]
    session.execute(insert(CalendarDay), rows)
    audit.record(
        session,
        AuditAction.CREATE,
        entity="calendar_year",
        entity_id=year,
        detail=_said(
            lazy_gettext(
                "Calendar %(year)s started for manual entry: weekdays working, weekends off",
                year=year,
            )
        ),
    )
    return cal_year


class WorkCalendar:
    """Working-day arithmetic over the stored calendar, one query per year touched.

    Build one per unit of work (a request, a job) and reuse it: it caches each year's days and
    does not see edits made after it read a year.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._years: dict[int, dict[date, bool]] = {}

    def _year(self, year: int) -> dict[date, bool]:
        days = self._years.get(year)
        if days is None:
            if self.session.get(CalendarYear, year) is None:
                raise CalendarMissing(year)
            rows = self.session.execute(
                select(CalendarDay.day, CalendarDay.is_workday).where(
                    CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)
                )
            )
            days = {row.day: bool(row.is_workday) for row in rows}
            expected = (date(year + 1, 1, 1) - date(year, 1, 1)).days
            if len(days) != expected:
                raise CalendarMissing(year, f"({expected - len(days)} of its days are missing)")
            self._years[year] = days
        return days

    def is_workday(self, day: date) -> bool:
        """Whether ``day`` is a working day (incl. 调休 make-up days)."""
        return self._year(day.year)[day]

    def on_or_after(self, day: date) -> date:
        """``day`` itself if it is a working day, else the next working day."""
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def next_workday(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self.on_or_after(day + timedelta(days=1))

    def add_workdays(self, day: date, n: int) -> date:
        """The ``n``-th working day after ``day`` (before it when ``n`` is negative).

        ``day`` itself is not counted, so a deadline of 5 working days after a form issued on
        ``day`` is ``add_workdays(day, 5)``; ``n == 0`` returns ``day`` unchanged.
        """
        step = timedelta(days=1 if n >= 0 else -1)
        remaining = abs(n)
        while remaining:
            day += step
            if self.is_workday(day):
                remaining -= 1
        return day

    def dispatch_day(self, year: int, month: int) -> date:
        """Art.12: the 3rd of the month, moved to the next working day if it is not one."""
        return self.on_or_after(date(year, month, DISPATCH_DAY_OF_MONTH))


def is_workday(session: Session, day: date) -> bool:
    """Whether ``day`` is a working day; raises ``CalendarMissing`` for an unknown year."""
    return WorkCalendar(session).is_workday(day)


def next_workday(session: Session, day: date) -> date:
    """The first working day strictly after ``day``; raises ``CalendarMissing``."""
    return WorkCalendar(session).next_workday(day)


def add_workdays(session: Session, day: date, n: int) -> date:
    """``n`` working days after ``day`` (not counting ``day``); raises ``CalendarMissing``."""
    return WorkCalendar(session).add_workdays(day, n)


def dispatch_day(session: Session, year: int, month: int) -> date:
    """Art.12: the monthly report's dispatch day; raises ``CalendarMissing``."""
    return WorkCalendar(session).dispatch_day(year, month)
