"""Deadline reminders (SPEC §3.2, Art.12–17: every deadline counts in working days).

Run daily by the scheduler (``jobs.schedule``): an open ``Task`` due soon reminds its assignee;
one whose due date has passed notifies the assignee, the people in copy and the finance
specialists, and shows on the dashboard through ``missed_tasks``. Every notification carries a
dedup key per task and kind, so running the job again (the same day, or every day after)
sends nothing twice.

The same run gives the practice texts' warning before the due date (``services/predue.py``):
a configurable number of days before a receivable falls due, its collector is reminded.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backoffice.extensions import db
from backoffice.models.notification import Task
from backoffice.models.user import RoleName, User
from backoffice.permissions import scope_filter
from backoffice.services import predue
from backoffice.services.calendar import WorkCalendar
from backoffice.services.notify import notify, users_with_role
from jobs import job


def _open_tasks(session: Session, *criteria: Any) -> list[Task]:
    return list(
        session.scalars(
            select(Task)
            .where(Task.done_at.is_(None), Task.due_on.is_not(None), *criteria)
            .order_by(Task.due_on, Task.id)
        )
    )


def _titled(task: Task) -> str:
    """The task's title with its due date, unless the title already says it."""
    if str(task.due_on) in task.title:
        return task.title
    return f"{task.title}（截止 {task.due_on}）"


def _finance_users(session: Session, company_id: int | None) -> list[int]:
    """Active finance specialists who cover ``company_id`` (no company = every company)."""
    ids = users_with_role(session, RoleName.FINANCE)
    if not ids or company_id is None:
        return ids
    return list(
        session.scalars(
            select(User.id).where(
                User.id.in_(ids), or_(User.company_id.is_(None), User.company_id == company_id)
            )
        )
    )


def remind_due_soon(session: Session, today: date, calendar: WorkCalendar | None = None) -> int:
    """Remind each assignee of their open tasks due from ``today`` up to the next working day.

    Art.12–17: deadlines are working days, so on a Friday the next working day may be Monday
    (or later around a holiday), and a task due in between is reminded too. One notification
    per task (dedup ``task:<id>:due-soon``). Adds rows; the caller commits. Raises
    ``CalendarMissing`` if the next working day falls in a year without calendar data.
    """
    calendar = calendar or WorkCalendar(session)
    horizon = calendar.next_workday(today)
    sent = 0
    for task in _open_tasks(session, Task.due_on >= today, Task.due_on <= horizon):
        if task.assignee_id is None:
            continue
        sent += len(
            notify(
                session,
                [task.assignee_id],
                f"即将到期：{_titled(task)}",
                f"此事项将于 {task.due_on} 到期，请在截止日前完成。",
                task.link,
                dedup_key=f"task:{task.id}:due-soon",
            )
        )
    return sent


def notify_missed(session: Session, today: date) -> int:
    """Notify the people responsible for each open task whose due date is before ``today``.

    SPEC §3.2: a missed deadline notifies the person responsible: the assignee, the users in
    copy (follow-up clerk, sales VP; Art.15) and the company's finance specialists. Once per
    task and user (dedup ``task:<id>:missed``). Adds rows; the caller commits.
    """
    sent = 0
    finance_by_company: dict[int | None, list[int]] = {}
    for task in _open_tasks(session, Task.due_on < today):
        if task.company_id not in finance_by_company:
            finance_by_company[task.company_id] = _finance_users(session, task.company_id)
        recipients = [task.assignee_id, *(task.cc_user_ids or ())]
        recipients += finance_by_company[task.company_id]
        sent += len(
            notify(
                session,
                recipients,
                f"已逾期：{_titled(task)}",
                f"此事项已于 {task.due_on} 到期仍未完成，请尽快处理。",
                task.link,
                dedup_key=f"task:{task.id}:missed",
            )
        )
    return sent


@job
def deadline_reminders(day_iso: str) -> dict:
    """The daily reminder run for ``day_iso`` (a date in Asia/Shanghai).

    Sends the missed-deadline notifications and commits them first, then the due-soon
    reminders, so a year without calendar data (``CalendarMissing``, raised and so failing the
    job) still lets the missed ones out. Idempotent: dedup keys per task and kind.
    """
    today = date.fromisoformat(day_iso)
    missed = notify_missed(db.session, today)
    db.session.commit()
    # The practice texts: warn each collector before a receivable falls due (no calendar needed).
    predue_sent = predue.remind_collectors(db.session, today)
    db.session.commit()
    due_soon = remind_due_soon(db.session, today)
    db.session.commit()
    return {
        "day": day_iso,
        "missed_notifications": missed,
        "due_soon_notifications": due_soon,
        "predue_notifications": predue_sent,
    }


def missed_tasks(session: Session, user: Any, today: date) -> list[Task]:
    """Open tasks past their due date that ``user`` may see, oldest deadline first.

    For the dashboard (SPEC §3.2: a missed deadline shows on the dashboard): the tasks within
    the user's row scope (``scope_filter``: company, and units for a collector) plus the user's
    own tasks wherever they are. Read-only.
    """
    visible = or_(scope_filter(Task, user), Task.assignee_id == user.id)
    return _open_tasks(session, Task.due_on < today, visible)
