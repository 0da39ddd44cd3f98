"""The daily follow-up of balance confirmation requests (issue 15), started by the scheduler:
negative-form silence recorded as "no disagreement received"
(``services/balance_confirm_followup.py``). Reminders of unanswered positive letters are
``jobs/balance_confirm_reminders.py``. Idempotent for a day."""

from __future__ import annotations

from datetime import date

from backoffice.extensions import db
from backoffice.services import balance_confirm_followup as followup
from jobs import job


@job
def balance_confirm_followup(day_iso: str) -> dict:
    """Record silence as of ``day_iso`` (Asia/Shanghai); commits."""
    today = date.fromisoformat(day_iso)
    silent = followup.record_silence(db.session, today)
    db.session.commit()
    return {
        "day": day_iso,
        "no_disagreement": [r.number for r in silent],
    }
