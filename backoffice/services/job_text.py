"""What the Jobs page says about a job run, in the reader's language (issue 11).

Workers record a job's name (its function), its result (a small dict) and, when it fails, the
exception and traceback. People read none of these as they are: this module names the job,
summarises the result in one line, and gives a failure one plain reason. The traceback stays
in the worker's log and on the row, for the administrator who reads the log.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from backoffice.models.job import JobRun, JobStatus

JOB_LABELS: dict[str, Any] = {
    "monthly_run": _l("Monthly run: reports, confirmation forms and statements"),
    "monthly_statements": _l("Statements of account"),
    "run_import": _l("ERP import"),
    "year_end_archive": _l("Year-end transfer to the archive"),
    "daily_escalation": _l("Daily escalation to cases"),
    "deadline_reminders": _l("Deadline reminders"),
    "verify_audit_chain": _l("Audit trail check"),
    "check_calendar_coverage": _l("Working-day calendar check"),
    "deliver_mail": _l("E-mail to a customer's contact"),
    "daily_dunning": _l("Dunning e-mails"),
    "balance_confirm_reminders": _l("Reminders of unanswered confirmation letters"),
}

# Result keys worth a reader's attention, in the order shown; other keys are left out.
RESULT_LABELS: dict[str, Any] = {
    "period": _l("Period"),
    "year": _l("Year"),
    "units": _l("Sales units"),
    "reports": _l("Reports"),
    "forms": _l("Confirmation forms"),
    "statements": _l("Statements"),
    "customers": _l("Customers"),
    "created": _l("Created"),
    "updated": _l("Updated"),
    "unchanged": _l("Unchanged"),
    "errors": _l("Bad rows"),
    "archived": _l("Archived"),
    "watch_listed": _l("Put on the watch list"),
    "filed": _l("Cases filed"),
    "due_soon_notifications": _l("Reminders sent"),
    "missed_notifications": _l("Missed-deadline notices"),
    "reminder": _l("Friendly reminders"),
    "demand_letter": _l("Demand letters"),
    "paused": _l("Paused"),
    "attempts": _l("Attempts"),
    "reminded": _l("Letters reminded"),
    "replies": _l("Reply packages archived"),
}

# A failure's exception, recognised by its text, → the reason people are given.
FAILURE_REASONS: tuple[tuple[str, Any], ...] = (
    ("no data for", _l("The working-day calendar lacks a year; enter its holidays.")),
    ("audit chain", _l("The audit trail check found a break; see the audit log.")),
    ("Redis", _l("The job queue could not be reached.")),
    ("killed by signal", _l("The worker stopped while running the job.")),
    ("timeout", _l("The job took longer than allowed.")),
)


def job_label(name: str | None) -> str:
    """The job's name as people say it; an unknown job keeps its technical name."""
    label = JOB_LABELS.get(name or "")
    return str(label) if label is not None else (name or "")


def job_said(
    message: str, name: str | None, run: JobRun | None = None, error: str | None = None
) -> str:
    """An audit detail about a job in the system's language: the job's name as people say it
    and, for a failure, its one plain reason (``%(reason)s``): a known cause in words, else
    the error itself when it is written in Chinese (``账款数据缺失``); never a traceback."""
    from backoffice.services.audit import in_system_language

    with in_system_language():
        generic = _("The job stopped with an error; the administrator can read it in the log.")
        reason = failure_reason(run) if run is not None else generic
        if reason == generic and error and any("\u4e00" <= ch <= "\u9fff" for ch in error):
            reason = error
        return _(message, job=job_label(name), reason=reason)  # noqa: INT001 - msgids below


# The msgids ``job_said`` is given (listed for the catalogue).
_JOB_DETAILS = (
    _l("Job “%(job)s” finished"),
    _l("Job “%(job)s” failed: %(reason)s"),
    _l("Job “%(job)s” failed, will retry: %(reason)s"),
    _l("Job “%(job)s” run again on request"),
)


def result_summary(result: dict | None) -> str:
    """``{"period": "2026-10", "statements": 218}`` → "期间 2026-10，对账单 218"."""
    if not result:
        return ""
    parts = []
    for key, label in RESULT_LABELS.items():
        if key in result and result[key] not in (None, ""):
            value = result[key]
            if isinstance(value, bool):
                value = _("Yes") if value else _("No")
            elif isinstance(value, list):
                value = len(value)  # e.g. the customers put on the watch list: how many
            parts.append(f"{label} {value}")
    return "，".join(parts)


def failure_reason(run: JobRun) -> str:
    """One plain sentence for a failed (or retried) run; never the traceback."""
    text = f"{run.error or ''} {run.message or ''}"
    for marker, reason in FAILURE_REASONS:
        if marker.lower() in text.lower():
            return str(reason)
    return _("The job stopped with an error; the administrator can read it in the log.")


def job_summary(run: JobRun) -> str:
    """The one line the Jobs page shows for ``run``."""
    if run.status is JobStatus.FINISHED:
        summary = result_summary(run.result)
        return _("Done: %(summary)s", summary=summary) if summary else _("Done")
    if run.status is JobStatus.FAILED:
        return _("Failed: %(reason)s", reason=failure_reason(run))
    if run.status is JobStatus.RUNNING:
        if run.attempts and run.attempts > 1:
            return _("Running (attempt %(n)s)", n=run.attempts)
        return _("Running")
    if run.error:  # queued again after a failed attempt
        return _("Waiting to retry: %(reason)s", reason=failure_reason(run))
    return _("Waiting in the queue")
