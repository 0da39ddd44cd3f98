"""Housekeeping jobs: integrity checks that fail loudly (a failed job shows on the Jobs page)."""

from __future__ import annotations

from datetime import date

from backoffice.extensions import db
from backoffice.models.user import RoleName
from backoffice.services import audit, checkpoints, notify
from backoffice.services import calendar as cal
from jobs import job

#: From this day of the year on, administrators are asked to enter next year's holidays (the
#: State Council usually publishes them in October or November).
NEXT_YEAR_WARNING_FROM = (10, 1)


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
    """Fail while the working-day calendar lacks this year; from 1 October, ask the
    administrators (inbox and e-mail, once a week) to enter next year's holidays.

    Art.12–15 count every deadline in working days; a missing year would stop the monthly run
    on its dispatch day, so this warns weeks before. A missing next year is a task for a
    person, not a failed job. Loads any year the installed ``chinesecalendar`` has and the
    database lacks first (idempotent), then checks.
    """
    day = date.fromisoformat(today)
    loaded = cal.ensure_published_years(db.session)
    db.session.commit()
    work = cal.WorkCalendar(db.session)
    work.is_workday(day)  # raises CalendarMissing for this year: nothing can be dated
    warned = False
    if (day.month, day.day) >= NEXT_YEAR_WARNING_FROM:
        try:
            work.is_workday(date(day.year + 1, 1, 1))
        except cal.CalendarMissing:
            warned = _ask_for_next_year(day)
    return {"loaded": loaded, "checked": today, "next_year_missing": warned}


def _ask_for_next_year(day: date) -> bool:
    """Tell every administrator, once per ISO week, that next year's holidays are missing."""
    year = day.year + 1
    week = day.isocalendar().week
    admins = notify.users_with_role(db.session, RoleName.ADMIN)
    notify.notify(
        db.session,
        admins,
        f"请录入 {year} 年节假日安排",
        f"工作日历尚无 {year} 年的数据。国务院办公厅公布 {year} 年节假日安排后，请在"
        f"“系统管理 → 日历年度”中录入（或升级 chinesecalendar 后运行 flask calendar load）。"
        f"缺少该年数据时，{year} 年的逾期确认、答复期限和月度清欠将无法计算。",
        "/admin/calendar_year/",
        dedup_key=f"calendar-missing:{year}:w{week}",
    )
    db.session.commit()
    return True
