"""Daily escalation of overdue debts (Art.16) as an RQ job, started by the scheduler.

Over 3 months overdue a customer goes on the team lead's watch list; over 6 months a
compulsory case is filed, one per customer, with its filing notice (Annex 2). Art.16 (2): a
customer whose debts over 3 months overdue reach the configured large amount
(``services/large_debts.py``) gets its case from 3 months. Idempotent: the
watch list is unique per (customer, day) and a customer has at most one open case (a partial
unique index), so a retry or a second run the same day files nothing twice.
"""

from __future__ import annotations

from datetime import date

from backoffice.extensions import db
from backoffice.services import cases
from jobs import job


@job
def daily_escalation(day_iso: str) -> dict:
    """Escalate as of ``day_iso`` (YYYY-MM-DD, Asia/Shanghai) and commit. Returns what it did:
    the customers watch-listed and the case numbers filed. A failure (e.g. a filing notice PDF
    that cannot be rendered) raises, so nothing is half-filed and RQ records the failure."""
    result = cases.escalate(db.session, date.fromisoformat(day_iso))
    db.session.commit()
    return {"as_of": day_iso, "watch_listed": result.watch_listed, "filed": result.filed}
