"""Art.16 (2): the team joins the collection of large debts (大额货款) from 3 months overdue.

Art.16 (3) files a compulsory case once a debt is over 6 months overdue. Art.16 (2) adds that
over 3 months the team lead is told and "组织小组成员参与大额货款清收工作": so a customer whose
debts over 3 months overdue reach the configured large amount (Setting ``large_debt_amount``,
default ¥1,000,000) gets its compulsory case from 3 months, not 6. The daily escalation
(``cases.escalate``, run by ``jobs/escalation.py``) asks ``team_involved`` for each customer.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy.orm import Session

from backoffice.services import ledger_cache

LARGE_DEBT_SETTING = "large_debt_amount"
DEFAULT_LARGE_AMOUNT = Decimal("1000000.00")


def large_amount(session: Session) -> Decimal:
    """The configured large amount (Setting ``large_debt_amount``), or the default."""
    stored = ledger_cache.setting(session, LARGE_DEBT_SETTING)
    try:
        value = Decimal(str(stored)) if stored not in (None, "") else DEFAULT_LARGE_AMOUNT
    except InvalidOperation:
        return DEFAULT_LARGE_AMOUNT
    return value if value > 0 else DEFAULT_LARGE_AMOUNT


def team_involved(
    session: Session, amount_over_3m: Decimal, oldest_due: date, over3: date, over6: date
) -> bool:
    """Art.16 (2)–(3): whether the team must take the customer's debt now.

    ``amount_over_3m`` is what the customer owes on documents over 3 months overdue and
    ``oldest_due`` the earliest of their due dates; ``over3``/``over6`` are the due-date
    cut-offs of 3 and 6 months (``aging.months_cutoff``). Over 6 months always; over 3 months
    when the amount reaches the large amount. Read-only.
    """
    if oldest_due < over6:
        return True  # Art.16 (3)
    return oldest_due < over3 and amount_over_3m >= large_amount(session)  # Art.16 (2)
