"""What the scheduler starts on a given day (Asia/Shanghai).

Cron syntax cannot express Chinese holidays (the dispatch day of Art.12 moves with them), so
the decision is made here, in Python: each entry of ``SCHEDULE`` looks at the date and returns
the jobs due that day, each with a deterministic job id. ``enqueue`` starts an id at most once,
so a scheduler restarted mid-day, or two schedulers by mistake, enqueue nothing twice. An entry
may also return work that was due on an earlier day and not yet done (its id says which
period), so a scheduler that was down on the day catches up.

Besides the daily tick, the scheduler process runs the reconciler (``jobs.reconcile``) at start
and every ``JOB_RECONCILE_INTERVAL`` seconds: job runs whose RQ job was lost are queued again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from jobs import QUEUE_DEFAULT, make_job_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Due:
    func: Callable[..., Any]
    args: tuple = ()
    job_id: str = ""
    queue: str = QUEUE_DEFAULT
    kwargs: dict = field(default_factory=dict)


def daily_audit_check(today: date) -> list[Due]:
    from jobs.maintenance import verify_audit_chain

    return [Due(verify_audit_chain, (), make_job_id("audit-verify", today.isoformat()))]


def daily_calendar_check(today: date) -> list[Due]:
    from jobs.maintenance import check_calendar_coverage

    return [
        Due(
            check_calendar_coverage,
            (today.isoformat(),),
            make_job_id("calendar-check", today.isoformat()),
        )
    ]


def monthly_on_dispatch_day(today: date) -> list[Due]:
    """Art.12: the monthly run starts on the dispatch day (the 3rd, moved past holidays), or
    on the first tick after it if the scheduler was down. Raises ``CalendarMissing`` for a
    year without calendar data: it refuses rather than guesses."""
    from backoffice.extensions import db
    from backoffice.services.calendar import dispatch_day
    from jobs import QUEUE_REPORTS
    from jobs.monthly import monthly_run

    if today < dispatch_day(db.session, today.year, today.month):
        return []
    period = f"{today.year:04d}-{today.month:02d}"
    return [Due(monthly_run, (period,), make_job_id("monthly-run", period), QUEUE_REPORTS)]


def daily_deadline_reminders(today: date) -> list[Due]:
    """SPEC §3.2: every day, remind of deadlines coming up and notify missed ones."""
    from jobs.reminders import deadline_reminders

    day = today.isoformat()
    return [Due(deadline_reminders, (day,), make_job_id("reminders", day))]


def daily_escalation_run(today: date) -> list[Due]:
    """Art.16: every day, watch-list debts over 3 months and file cases over 6 months."""
    from jobs.escalation import daily_escalation

    day = today.isoformat()
    return [Due(daily_escalation, (day,), make_job_id("escalate", day))]


def daily_case_rules_run(today: date) -> list[Due]:
    """Art.19, 23: every day, late instalments break their plan, late answers escalate."""
    from jobs.case_rules import daily_case_rules

    day = today.isoformat()
    return [Due(daily_case_rules, (day,), make_job_id("case-rules", day))]


def daily_dunning_run(today: date) -> list[Due]:
    """Issue 14 §2: every day, the dunning schedule by debt class (once per step and month)."""
    from jobs.customer_mail import daily_dunning

    day = today.isoformat()
    return [Due(daily_dunning, (day,), make_job_id("dunning", day))]
def daily_balance_confirm_reminders(today: date) -> list[Due]:
    """Issue 15: every day, remind unanswered positive-form 询证函 past their reply date."""
    from jobs.balance_confirm_reminders import balance_confirm_reminders

    day = today.isoformat()
    return [Due(balance_confirm_reminders, (day,), make_job_id("balance-reminders", day))]
def daily_balance_confirm_followup(today: date) -> list[Due]:
    """Issue 15: every day, negative-form silence is recorded, unanswered requests reminded."""
    from jobs.balance_confirm import balance_confirm_followup

    day = today.isoformat()
    return [Due(balance_confirm_followup, (day,), make_job_id("balance-confirm", day))]


def year_end_archive_transfer(today: date) -> list[Due]:
    """Art.22: on 31 December the year's closed cases go to the archive; on the first days of
    January (the 1st to the 7th) the previous year's transfer is started if it never was, so a
    scheduler down on 31 December catches up. One job id per year (the same as
    ``flask archive year-end``), so it is enqueued at most once; the job itself skips archived
    cases, so a re-run from the Jobs page archives what was closed after it ran."""
    from jobs.archive import year_end_archive

    if (today.month, today.day) == (12, 31):
        year = today.year
    elif today.month == 1 and today.day <= 7:
        year = today.year - 1
    else:
        return []
    return [Due(year_end_archive, (year,), make_job_id("year-end-archive", year))]


def scorecards_at_period_end(today: date) -> list[Due]:
    """Art.27: on the 1st to the 7th of a month, the month before's scorecard (in January also
    the year before's) for each company whose leadership approved that year's policy (Art.28);
    a company without one is left alone rather than failed. One job id per company and period,
    so a restarted scheduler enqueues nothing twice; the job keeps an amended or approved
    scorecard as it is."""
    from sqlalchemy import select

    from backoffice.extensions import db
    from backoffice.models.assessment import ApprovalState, AssessmentPolicy
    from jobs.assessment import assessment_scorecard, scorecard_job_id

    if today.day > 7:
        return []
    month_end = today.replace(day=1).toordinal() - 1
    last = date.fromordinal(month_end)
    periods = [f"{last.year:04d}-{last.month:02d}"] + ([str(last.year)] if today.month == 1 else [])
    companies = db.session.scalars(
        select(AssessmentPolicy.company_id).where(
            AssessmentPolicy.year == last.year, AssessmentPolicy.status == ApprovalState.APPROVED
        )
    ).all()
    return [
        Due(assessment_scorecard, (cid, p), scorecard_job_id(cid, p))
        for cid in sorted(companies)
        for p in periods
    ]


#: Each callable maps a day to the jobs due on it. Later capabilities add theirs here.
SCHEDULE: list[Callable[[date], list[Due]]] = [
    daily_audit_check,
    daily_calendar_check,
    monthly_on_dispatch_day,
    daily_deadline_reminders,
    daily_escalation_run,
    daily_case_rules_run,
    daily_dunning_run,
    daily_balance_confirm_reminders,
    daily_balance_confirm_followup,
    year_end_archive_transfer,
    scorecards_at_period_end,
]


@dataclass
class Tick:
    """What one scheduler tick did."""

    enqueued: list[str] = field(default_factory=list)  # job ids put on a queue now
    existing: list[str] = field(default_factory=list)  # ids already started before
    errors: list[str] = field(default_factory=list)  # entries that could not decide


def due_on(today: date) -> list[Due]:
    """Every job due on ``today``; raises if an entry cannot decide (e.g. CalendarMissing)."""
    return [d for entry in SCHEDULE for d in entry(today)]


def enqueue_due(today: date) -> Tick:
    """Enqueue what ``SCHEDULE`` says is due on ``today`` (a date in Asia/Shanghai).

    Idempotent: an id enqueued before (today, by an earlier run of the scheduler) is not
    enqueued again. An entry that raises (for example ``CalendarMissing`` because next year's
    holidays have not been entered) is reported in ``Tick.errors`` and logged; the other entries
    still run. Commits (through ``enqueue``).
    """
    from sqlalchemy import select

    from backoffice.extensions import db
    from backoffice.models.job import JobRun
    from jobs import enqueue

    tick = Tick()
    for entry in SCHEDULE:
        try:
            dues = entry(today)
        except Exception as exc:  # noqa: BLE001 - one broken entry must not stop the others
            db.session.rollback()
            log.exception("schedule entry %s failed for %s", entry.__name__, today)
            tick.errors.append(f"{entry.__name__}: {exc}")
            continue
        for due in dues:
            existed = db.session.scalar(select(JobRun.id).where(JobRun.rq_job_id == due.job_id))
            # For an existing id this enqueues nothing (it only re-puts a queued row Redis lost).
            enqueue(due.func, *due.args, job_id=due.job_id, queue=due.queue, **due.kwargs)
            (tick.existing if existed else tick.enqueued).append(due.job_id)
    return tick
