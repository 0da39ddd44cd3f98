"""What happens when the debtor says nothing (issue 15), run daily by ``jobs/balance_confirm``.

- Negative form (消极式询证函): silence after the reply period is the answer: the request is
  recorded as "no disagreement received" (未收到不符回复). The link keeps working until it
  expires, so a late disagreement is still taken.

Idempotent: a request changes state once. Reminders of unanswered positive letters are
``services/balance_reminders.py``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.balance_confirmation import (
    BalanceConfirmationRequest,
    BalanceConfirmationStatus,
    LetterForm,
)

NO_DISAGREEMENT_NOTE = "未收到不符回复"


def record_silence(session: Session, today: date) -> list[BalanceConfirmationRequest]:
    """Negative-form requests past their reply date without an answer: no disagreement
    received. Flushes; the caller commits."""
    found = list(
        session.scalars(
            select(BalanceConfirmationRequest).where(
                BalanceConfirmationRequest.letter_form == LetterForm.NEGATIVE,
                BalanceConfirmationRequest.status == BalanceConfirmationStatus.SENT,
                BalanceConfirmationRequest.reply_due < today,
            )
        )
    )
    for req in found:
        req.status = BalanceConfirmationStatus.NO_DISAGREEMENT
        req.closed_note = NO_DISAGREEMENT_NOTE
    session.flush()
    return found
