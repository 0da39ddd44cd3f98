"""The daily follow-up of balance confirmation requests (issue 15), started by the scheduler:
negative-form silence recorded as "no disagreement received", unanswered positive requests
reminded (``services/balance_confirm_followup.py``). Idempotent for a day."""

from __future__ import annotations

from datetime import date

from backoffice.extensions import db
from backoffice.services import balance_confirm_followup as followup
from jobs import job


@job
def balance_confirm_followup(day_iso: str) -> dict:
    """Record silence and send reminders as of ``day_iso`` (Asia/Shanghai); commits each."""
    today = date.fromisoformat(day_iso)
    silent = followup.record_silence(db.session, today)
    db.session.commit()
    reminded = followup.remind_unanswered(db.session, today)
    db.session.commit()
    return {
        "day": day_iso,
        "no_disagreement": [r.number for r in silent],
        "reminded": [r.number for r in reminded],
    }
