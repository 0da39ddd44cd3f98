"""The working-day calendar (Art.12–15): published years, refusal of unknown years, admin entry."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, func, select

from backoffice.models import AuditLog, CalendarDay, CalendarYear
from backoffice.services import calendar as cal


@pytest.fixture()
def y2026(db):
    cal.load_year(db.session, 2026)
    db.session.commit()
    return db


def count_queries(db):
    """A context-free counter of SQL statements sent through the engine."""
    counter = {"n": 0}

    def before(*args, **kwargs):
        counter["n"] += 1

    event.listen(db.engine, "before_cursor_execute", before)
    return counter, lambda: event.remove(db.engine, "before_cursor_execute", before)


def test_load_year_fills_every_day_with_holidays_and_make_up_days(y2026):
    """Loading 2026 stores 365 days, holiday names and the 调休 make-up working days."""
    db = y2026
    year = db.session.get(CalendarYear, 2026)
    assert year.source == f"chinesecalendar {cal.chinese_calendar.__version__}"
    assert db.session.scalar(select(func.count()).select_from(CalendarDay)) == 365
    jan4 = db.session.get(CalendarDay, date(2026, 1, 4))  # a Sunday make-up working day
    assert jan4.is_workday is True and jan4.name == "元旦（调休上班）"
    oct1 = db.session.get(CalendarDay, date(2026, 10, 1))
    assert oct1.is_workday is False and oct1.name == "国庆节"
    plain_saturday = db.session.get(CalendarDay, date(2026, 3, 7))
    assert plain_saturday.is_workday is False and plain_saturday.name is None
    assert db.session.get(CalendarDay, date(2026, 3, 9)).is_workday is True


def test_dispatch_days_of_2026(y2026):
    """January, May and October 2026 dispatch on 01-04, 05-06 and 10-08; March stays on the 3rd."""
    s = y2026.session
    assert cal.dispatch_day(s, 2026, 1) == date(2026, 1, 4)
    assert cal.dispatch_day(s, 2026, 5) == date(2026, 5, 6)
    assert cal.dispatch_day(s, 2026, 10) == date(2026, 10, 8)
    assert cal.dispatch_day(s, 2026, 3) == date(2026, 3, 3)
    assert cal.dispatch_day(s, 2026, 4) == date(2026, 4, 3)  # a Friday before Qingming


def test_workday_arithmetic_counts_make_up_days(y2026):
    """Deadlines count working days, including a Saturday make-up day (2026-10-10)."""
    s = y2026.session
    assert cal.add_workdays(s, date(2026, 10, 8), 5) == date(2026, 10, 14)
    assert cal.add_workdays(s, date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert cal.add_workdays(s, date(2026, 10, 12), -2) == date(2026, 10, 9)
    assert cal.add_workdays(s, date(2026, 10, 3), 0) == date(2026, 10, 3)
    assert cal.next_workday(s, date(2026, 1, 3)) == date(2026, 1, 4)
    assert cal.next_workday(s, date(2026, 1, 4)) == date(2026, 1, 5)
    assert cal.is_workday(s, date(2026, 10, 10)) is True
    assert cal.is_workday(s, date(2026, 10, 11)) is False


def test_unpublished_year_is_refused_by_the_loader(db):
    """load_year(2027) raises our error naming 2027 and writes nothing."""
    with pytest.raises(cal.YearNotPublished, match="2027"):
        cal.load_year(db.session, 2027)
    db.session.rollback()
    assert db.session.get(CalendarYear, 2027) is None
    assert db.session.scalar(select(func.count()).select_from(CalendarDay)) == 0


def test_year_without_data_refuses_then_uses_entered_days(y2026):
    """2027 raises CalendarMissing until an admin enters it; then the entered days are used."""
    s = y2026.session
    with pytest.raises(cal.CalendarMissing, match="2027") as info:
        cal.dispatch_day(s, 2027, 1)
    assert info.value.year == 2027
    with pytest.raises(cal.CalendarMissing, match="2027"):
        cal.add_workdays(s, date(2026, 12, 31), 1)  # crossing into the unknown year refuses too

    cal.start_year(s, 2027, note="国办发明电〔2026〕")
    s.commit()
    assert s.get(CalendarYear, 2027).source == "admin"
    # The admin enters the New Year holiday (Fri 1 Jan) and a make-up Sunday (3 Jan).
    s.get(CalendarDay, date(2027, 1, 1)).is_workday = False
    sunday = s.get(CalendarDay, date(2027, 1, 3))
    sunday.is_workday, sunday.name = True, "元旦（调休上班）"
    s.commit()
    assert cal.add_workdays(s, date(2026, 12, 31), 1) == date(2027, 1, 3)
    assert cal.dispatch_day(s, 2027, 1) == date(2027, 1, 3)
    assert cal.dispatch_day(s, 2027, 7) == date(2027, 7, 5)  # Sat 3 July → Monday
    with pytest.raises(ValueError, match="2027"):
        cal.start_year(s, 2027)


def test_incomplete_year_is_refused(db):
    """A CalendarYear row without its days (e.g. created bare in the admin) refuses loudly."""
    db.session.add(CalendarYear(year=2028, source="admin"))
    db.session.commit()
    with pytest.raises(cal.CalendarMissing, match="366 of its days are missing"):
        cal.is_workday(db.session, date(2028, 5, 5))


def test_load_year_keeps_admin_edits_and_is_idempotent(y2026):
    """Loading a year again changes nothing, so a company day off entered by an admin stays."""
    s = y2026.session
    day = s.get(CalendarDay, date(2026, 3, 9))
    day.is_workday, day.name = False, "公司年会"
    s.commit()
    cal.load_year(s, 2026)
    s.commit()
    assert s.get(CalendarDay, date(2026, 3, 9)).is_workday is False
    assert s.scalar(select(func.count()).select_from(CalendarDay)) == 365


def test_ensure_published_years_loads_each_missing_year_once(db):
    """Every year the package covers is loaded once, with one audit entry per year."""
    years = cal.package_years()
    loaded = cal.ensure_published_years(db.session)
    db.session.commit()
    assert loaded == list(years) and 2026 in loaded and 2027 not in loaded
    assert cal.ensure_published_years(db.session) == []
    stored = set(db.session.scalars(select(CalendarYear.year)))
    assert stored == set(years)
    entries = db.session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.entity == "calendar_year")
    )
    assert entries == 2 * len(years)  # the ORM row's create entry and the loader's summary
    assert cal.dispatch_day(db.session, 2004, 1) == date(2004, 1, 5)  # Sat 3 Jan 2004 → Monday


def test_arithmetic_reads_a_year_in_one_query(y2026):
    """A long add_workdays over one year costs a constant number of queries, not one per day."""
    s = y2026.session
    s.expire_all()
    counter, stop = count_queries(y2026)
    try:
        work = cal.WorkCalendar(s)
        assert work.add_workdays(date(2026, 1, 5), 200) > date(2026, 10, 1)
        for month in range(1, 13):
            work.dispatch_day(2026, month)
    finally:
        stop()
    assert counter["n"] <= 3


def test_calendar_cli(app, db):
    """`calendar load --year 2027` fails with the reason; load and dispatch-days work for 2026."""
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["calendar", "load", "--year", "2027"])
    assert refused.exit_code != 0 and "2027" in refused.output
    ok = runner.invoke(args=["calendar", "load", "--year", "2026"])
    assert ok.exit_code == 0, ok.output
    assert "loaded 2026" in ok.output
    days = runner.invoke(args=["calendar", "dispatch-days", "--year", "2026"])
    assert days.exit_code == 0, days.output
    assert "2026-01  2026-01-04" in days.output and "2026-10  2026-10-08" in days.output
    missing = runner.invoke(args=["calendar", "dispatch-days", "--year", "2027"])
    assert missing.exit_code != 0 and "no data for 2027" in missing.output
    started = runner.invoke(args=["calendar", "start", "--year", "2027"])
    assert started.exit_code == 0, started.output
    assert db.session.get(CalendarYear, 2027).source == "admin"
