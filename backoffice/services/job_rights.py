"""Who may re-run a job: the permission of the action the job performs (SPEC §2, §4).

``job_run`` ``run`` lets finance and the admin use the Jobs page's re-run button; on its own it
let finance re-run the admin-only year-end transfer (Art.22) and seal newly closed cases. A
re-run is the action again, so it needs that action's permission as well: each job function
(``JobRun.name``) maps to the resource and action that start it by hand or by schedule.
A job missing here falls back to ``job_run`` ``run`` alone; ``tests/services/test_job_rights.py``
keeps every job of the ``jobs`` package in the table.
"""

from __future__ import annotations

from typing import Any

from backoffice.permissions import Action, can

#: job function name → (resource, action) of the action the job performs.
JOB_ACTIONS: dict[str, tuple[str, Action]] = {
    # Art.22: the year-end transfer seals closed cases into the archive (admin only).
    "year_end_archive": ("archive_record", Action.RUN),
    # Art.13: the monthly run and its statements (finance).
    "monthly_run": ("monthly_run", Action.RUN),
    "monthly_statements": ("monthly_run", Action.RUN),
    # §3.1: an ERP import (finance).
    "run_import": ("receivable", Action.IMPORT),
    # Art.16: escalation files cases and fills the watch list (the team's decision).
    "daily_escalation": ("collection_case", Action.CREATE),
    # §3.8: verifying the audit chain.
    "verify_audit_chain": ("audit_log", Action.VERIFY),
    # Art.27: the period-end scorecard (the team lead or the leadership).
    "assessment_scorecard": ("scorecard", Action.RUN),
    # Reminders and the calendar check only notify: the Jobs page's own permission.
    "deadline_reminders": ("job_run", Action.RUN),
    "check_calendar_coverage": ("job_run", Action.RUN),
    # Art.19, 23: late instalments break their plan, late answers escalate (notices only).
    "daily_case_rules": ("job_run", Action.RUN),
    # Issue 15: reminders of unanswered 询证函 write to debtors: finance's sending right.
    "balance_confirm_reminders": ("balance_confirmation_request", Action.EDIT),
    # Issue 15: negative-form silence recorded as "no disagreement received".
    "balance_confirm_followup": ("balance_confirmation_request", Action.EDIT),
    # Issue 14 §2: e-mail to customers (dunning, one message of the send log): those who keep
    # the e-mail settings.
    "daily_dunning": ("mail_setting", Action.EDIT),
    "deliver_mail": ("mail_setting", Action.EDIT),
}


def may_rerun(user: Any, job_name: str | None) -> bool:
    """Whether ``user`` may re-run a job named ``job_name``: the Jobs page's ``run`` and the
    permission of the action the job performs. No side effects."""
    if not can(user, "job_run", Action.RUN):
        return False
    resource, action = JOB_ACTIONS.get(job_name or "", ("job_run", Action.RUN))
    return can(user, resource, action)
