"""E-mail to customers as RQ jobs (issue 14 §2): one delivery job per logged message, retried
with RQ's back-off (``MAIL_RETRIES`` times, ``JOB_RETRY_INTERVALS``) before the send log says
failed; the statements of a monthly run; the daily dunning schedule."""

from __future__ import annotations

from datetime import date

from backoffice.extensions import db
from backoffice.services import customer_mail, dunning
from jobs import job


@job
def deliver_mail(mail_id: int) -> dict:
    """Send one logged message; raises (so RQ retries) while the attempt fails."""
    row = customer_mail.deliver(db.session, mail_id)
    return {"mail": mail_id, "status": row.status.value, "attempts": row.attempts}


@job
def daily_dunning(day_iso: str) -> dict:
    """The dunning schedule for ``day_iso`` (a date in Asia/Shanghai); idempotent per month."""
    return {"day": day_iso, **dunning.run(db.session, date.fromisoformat(day_iso))}
