"""The daily checks of the case rules (Art.19, Art.23) as an RQ job, started by the scheduler.

- Repayment plans: each instalment's paid amount is refreshed from the payments allocated; a
  late instalment marks its plan's promise broken and notifies (``services/repayment.py``).
- Requests for information: one unanswered after its deadline escalates
  (``services/information.py``).

Idempotent: a late instalment is notified once (``late_notified_on``), a request escalates
once (``escalated_on``), and every notification carries a dedup key.
"""

from __future__ import annotations

from datetime import date

from backoffice.extensions import db
from backoffice.services import information, repayment
from jobs import job


@job
def daily_case_rules(day_iso: str) -> dict:
    """Check plans and requests as of ``day_iso`` (YYYY-MM-DD, Asia/Shanghai) and commit.
    Returns the instalments newly late and the requests escalated."""
    day = date.fromisoformat(day_iso)
    late = repayment.check_late(db.session, day)
    escalated = information.escalate_late(db.session, day)
    db.session.commit()
    return {
        "as_of": day_iso,
        "late_instalments": [i.id for i in late],
        "escalated_requests": [r.id for r in escalated],
    }
