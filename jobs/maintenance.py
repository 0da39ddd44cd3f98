"""Housekeeping jobs: integrity checks that fail loudly (a failed job shows on the Jobs page)."""

from __future__ import annotations

from datetime import date

from backoffice.extensions import db
from backoffice.services import audit, checkpoints
from backoffice.services import calendar as cal
from jobs import job

#: From this day of the year on, next year's holidays should be in the calendar (the State
#: Council usually publishes them in October or November).
NEXT_YEAR_EXPECTED_FROM = (11, 15)


@job
def verify_audit_chain() -> dict:
    """Check the audit hash chain (SPEC §3.8) against its keys and checkpoints; fails, and so
    alerts, when it is broken. When intact, writes a signed checkpoint of its head to storage
    (issue 10), so a later cut of the tail shows.

    Side effect: one checkpoint file and its audit entry. Safe to run any number of times.
    """
    problems = audit.verify_chain(db.session)
    if problems:
        first = problems[0]
        raise RuntimeError(f"audit chain broken at seq {first.seq}: {first.reason}")
    db.session.rollback()  # end the read transaction before the checkpoint's own
    written = checkpoints.write("audit-verify")
    return {"intact": True, "checkpoint": written["name"], "seq": written["seq"]}


@job
def check_calendar_coverage(today: str) -> dict:
    """Fail while the working-day calendar lacks this year, or next year after mid-November.

    Art.12–15 count every deadline in working days; a missing year would stop the monthly run
    on its dispatch day, so this warns weeks before. Loads any year the installed
    ``chinesecalendar`` has and the database lacks first (idempotent), then checks.
    """
    day = date.fromisoformat(today)
    loaded = cal.ensure_published_years(db.session)
    db.session.commit()
    work = cal.WorkCalendar(db.session)
    work.is_workday(day)  # raises CalendarMissing for this year
    if (day.month, day.day) >= NEXT_YEAR_EXPECTED_FROM:
        work.is_workday(date(day.year + 1, 1, 1))  # and for next year, from mid-November
    return {"loaded": loaded, "checked": today}
