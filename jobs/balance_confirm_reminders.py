"""Reminders for unanswered positive-form balance confirmation letters (issue 15), as the
daily RQ job the scheduler starts. Idempotent: ``services/balance_reminders.py`` claims each
reminder with a conditional UPDATE, so a re-run the same day sends nothing twice."""

from __future__ import annotations

from datetime import date

from backoffice.extensions import db
from backoffice.services import balance_reminders
from jobs import job


@job
def balance_confirm_reminders(day_iso: str) -> dict:
    """Remind, as of ``day_iso`` (YYYY-MM-DD, Asia/Shanghai), every unanswered positive-form
    request past its reply date and its interval; returns the request numbers reminded."""
    run = balance_reminders.send_reminders(db.session, date.fromisoformat(day_iso))
    return {"as_of": day_iso, "reminded": run.reminded, "skipped": run.skipped}
