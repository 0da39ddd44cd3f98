"""Deadline reminders (SPEC §3.2): due-soon reminders in working days, missed-deadline
notifications to the people responsible, once each, and the dashboard's missed-task list."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from backoffice.models import Notification, Task
from backoffice.models.notification import TaskKind
from backoffice.services.calendar import CalendarMissing, load_year
from jobs import make_job_id
from jobs.reminders import deadline_reminders, missed_tasks, notify_missed, remind_due_soon
from jobs.schedule import due_on
from tests import helpers

FRIDAY = date(2026, 11, 13)  # the next working day is Monday 16 November


@pytest.fixture()
def org(db):
    """A company with two units, a collector in each, a sales VP, two finance specialists (one
    of another company) and the 2026 calendar."""
    load_year(db.session, 2026)
    db.session.commit()
    east = helpers.make_unit(name="华东事业部")
    west = helpers.make_unit(company=east.company, name="华西事业部")
    other = helpers.make_unit(name="外公司事业部")
    return {
        "east": east,
        "west": west,
        "collector_east": helpers.make_user("collector", units=[east]),
        "collector_west": helpers.make_user("collector", units=[west]),
        "vp": helpers.make_user("leader", company_id=east.company_id),
        "finance": helpers.make_user("finance", company_id=east.company_id),
        "finance_other": helpers.make_user("finance", company_id=other.company_id),
    }


_subject = iter(range(1, 10_000))


def task(db, unit, assignee, due, *, cc=(), done=False, title="答复逾期账款确认表") -> Task:
    row = Task(
        kind=TaskKind.ANSWER_FORM,
        title=title,
        subject_type="confirmation_form",
        subject_id=next(_subject),
        assignee_id=assignee.id,
        due_on=due,
        company_id=unit.company_id,
        sales_unit_id=unit.id,
        cc_user_ids=[u.id for u in cc] or None,
        done_at=datetime(2026, 11, 1, tzinfo=UTC) if done else None,
    )
    db.session.add(row)
    db.session.commit()
    return row


def inbox(db, user) -> list[str]:
    db.session.expire_all()
    return sorted(
        db.session.scalars(select(Notification.dedup_key).where(Notification.user_id == user.id))
    )


def test_due_soon_reminds_the_assignee_once_across_the_weekend(db, org):
    """On a Friday, open tasks due from today to Monday (the next working day) remind their
    assignee once; later or done tasks do not."""
    c = org["collector_east"]
    today_task = task(db, org["east"], c, FRIDAY)
    sunday = task(db, org["east"], c, date(2026, 11, 15))
    monday = task(db, org["east"], c, date(2026, 11, 16))
    task(db, org["east"], c, date(2026, 11, 17))  # Tuesday: not yet
    task(db, org["east"], c, date(2026, 11, 16), done=True)
    assert remind_due_soon(db.session, FRIDAY) == 3
    db.session.commit()
    assert inbox(db, c) == sorted(f"task:{t.id}:due-soon" for t in (today_task, sunday, monday))
    assert remind_due_soon(db.session, FRIDAY) == 0  # the same day again: nothing new
    # Monday: only Tuesday's task is new (Friday's, Sunday's and Monday's were reminded).
    assert remind_due_soon(db.session, date(2026, 11, 16)) == 1
    note = db.session.scalar(
        select(Notification).where(Notification.dedup_key == f"task:{monday.id}:due-soon")
    )
    assert "2026-11-16" in note.title and "答复逾期账款确认表" in note.title
    assert inbox(db, org["finance"]) == []  # a reminder goes to the assignee only


def test_due_soon_looks_past_the_national_day_holiday(db, org):
    """On 30 September 2026 the next working day is 8 October (1–7 October are holidays), so a
    task due on the 8th is reminded and one due on the 9th is not."""
    c = org["collector_east"]
    eighth = task(db, org["east"], c, date(2026, 10, 8))
    task(db, org["east"], c, date(2026, 10, 9))
    assert remind_due_soon(db.session, date(2026, 9, 30)) == 1
    db.session.commit()
    assert inbox(db, c) == [f"task:{eighth.id}:due-soon"]


def test_missed_deadline_notifies_assignee_copies_and_finance_once(db, org):
    """A task due before today notifies its assignee, the users in copy and the company's
    finance specialists, once each; not other units' collectors nor another company's finance."""
    c = org["collector_east"]
    late = task(db, org["east"], c, date(2026, 11, 12), cc=[org["vp"]])
    task(db, org["east"], c, date(2026, 11, 10), done=True)  # done late: not missed
    task(db, org["east"], c, FRIDAY)  # due today: not missed yet
    # 3 notifications: assignee, the VP in copy, the company's finance specialist.
    assert notify_missed(db.session, FRIDAY) == 3
    db.session.commit()
    key = f"task:{late.id}:missed"
    for who in ("collector_east", "vp", "finance"):
        assert inbox(db, org[who]) == [key], who
    assert inbox(db, org["collector_west"]) == []
    assert inbox(db, org["finance_other"]) == []
    assert notify_missed(db.session, FRIDAY) == 0  # the same day again: nothing
    # Monday: only the task due on Friday is newly missed (assignee + finance, no copies).
    assert notify_missed(db.session, date(2026, 11, 16)) == 2
    note = db.session.scalar(
        select(Notification).where(
            Notification.dedup_key == key, Notification.user_id == org["finance"].id
        )
    )
    assert note.title.startswith("已逾期") and "2026-11-12" in note.title


def test_a_title_that_names_its_deadline_is_not_repeated(db, org):
    """A task whose title already says its due date is reminded without a second "(截止 …)"."""
    c = org["collector_east"]
    title = "逾期账款确认表 2026-10 待答复（截止 2026-11-12）"
    task(db, org["east"], c, date(2026, 11, 12), title=title)
    assert notify_missed(db.session, FRIDAY) >= 1
    db.session.commit()
    note = db.session.scalar(select(Notification).where(Notification.user_id == c.id))
    assert note.title == "已逾期：逾期账款确认表 2026-10 待答复（截止 2026-11-12）"
    assert note.title.count("截止") == 1


def test_the_scheduler_starts_the_reminders_daily_with_a_deterministic_id(db, org):
    """Every day's schedule holds the reminder job for that day, under reminders_<day>."""
    for day in (FRIDAY, date(2026, 11, 14)):  # a working day and a Saturday
        dues = [d for d in due_on(day) if d.func.__name__ == "deadline_reminders"]
        assert [(d.args, d.job_id) for d in dues] == [
            ((day.isoformat(),), make_job_id("reminders", day.isoformat()))
        ]
    assert make_job_id("reminders", FRIDAY.isoformat()) == "reminders_2026-11-13"


def test_the_job_sends_both_kinds_and_is_idempotent(db, org):
    """The daily job sends missed and due-soon notifications and sends nothing on a re-run."""
    c = org["collector_east"]
    task(db, org["east"], c, date(2026, 11, 12), cc=[org["vp"]])
    task(db, org["east"], c, date(2026, 11, 16))
    result = deadline_reminders(FRIDAY.isoformat())
    assert result == {
        "day": "2026-11-13",
        "missed_notifications": 3,
        "due_soon_notifications": 1,
        "predue_notifications": 0,
    }
    again = deadline_reminders(FRIDAY.isoformat())
    assert again["missed_notifications"] == 0 and again["due_soon_notifications"] == 0
    assert len(inbox(db, c)) == 2


def test_a_year_without_calendar_fails_the_job_after_sending_the_missed(db, org):
    """On 31 December 2026 the next working day is in 2027, which has no calendar data: the job
    fails naming the year, and the missed-deadline notifications have still gone out."""
    c = org["collector_east"]
    late = task(db, org["east"], c, date(2026, 12, 30))
    with pytest.raises(CalendarMissing, match="2027"):
        deadline_reminders("2026-12-31")
    assert inbox(db, c) == [f"task:{late.id}:missed"]


def test_missed_tasks_for_the_dashboard_follow_the_row_scope(db, org):
    """The dashboard list holds open overdue tasks in the user's scope plus their own tasks,
    oldest deadline first; a collector does not see another unit's, finance sees the company's."""
    ce, cw = org["collector_east"], org["collector_west"]
    east_late = task(db, org["east"], ce, date(2026, 11, 12))
    west_late = task(db, org["west"], cw, date(2026, 11, 2))
    own_in_west = task(db, org["west"], ce, date(2026, 11, 5))  # ce's own task in another unit
    task(db, org["east"], ce, FRIDAY)  # due today: not missed
    task(db, org["east"], ce, date(2026, 11, 1), done=True)
    outsider = helpers.make_unit(name="外公司二部")
    task(db, outsider, org["finance_other"], date(2026, 11, 3))

    def ids(user):
        return [t.id for t in missed_tasks(db.session, user, FRIDAY)]

    assert ids(ce) == [own_in_west.id, east_late.id]
    assert ids(cw) == [west_late.id, own_in_west.id]  # own_in_west is in cw's unit
    assert ids(org["finance"]) == [west_late.id, own_in_west.id, east_late.id]
