"""What happens when the debtor says nothing (issue 15), run daily by ``jobs/balance_confirm``.

- Negative form (消极式询证函): silence after the reply period is the answer: the request is
  recorded as "no disagreement received" (未收到不符回复). The link keeps working until it
  expires, so a late disagreement is still taken.
- Positive form and 对账确认: an unanswered request is sent again (a new link, the old one
  revoked) every ``BALANCE_CONFIRM_REMINDER_DAYS`` working days after its reply date, at most
  ``BALANCE_CONFIRM_MAX_REMINDERS`` times.

Both are idempotent for a day: a request changes state once, and a reminder is only sent when
its last one is old enough (``last_reminded_on``).
"""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backoffice.models.balance_confirmation import (
    BalanceConfirmationRequest,
    BalanceConfirmationStatus,
    LetterForm,
)
from backoffice.services.balance_confirm import send_letter, working_days_after

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


def remind_unanswered(session: Session, today: date) -> list[BalanceConfirmationRequest]:
    """Send the unanswered positive requests (and 对账确认) again with a new link, once per
    ``BALANCE_CONFIRM_REMINDER_DAYS`` working days after the reply date. Flushes."""
    cfg = current_app.config
    days = int(cfg.get("BALANCE_CONFIRM_REMINDER_DAYS", 10))
    most = int(cfg.get("BALANCE_CONFIRM_MAX_REMINDERS", 2))
    candidates = session.scalars(
        select(BalanceConfirmationRequest)
        .where(
            or_(
                BalanceConfirmationRequest.letter_form.is_(None),
                BalanceConfirmationRequest.letter_form == LetterForm.POSITIVE,
            ),
            BalanceConfirmationRequest.status == BalanceConfirmationStatus.SENT,
            BalanceConfirmationRequest.reply_due < today,
            BalanceConfirmationRequest.reminders_sent < most,
        )
        .order_by(BalanceConfirmationRequest.id)
    )
    sent = []
    for req in list(candidates):
        since = req.last_reminded_on or req.reply_due
        if req.last_reminded_on is not None and working_days_after(session, since, days) > today:
            continue
        send_letter(session, req, reminder=True)
        req.reminders_sent += 1
        req.last_reminded_on = today
        sent.append(req)
    session.flush()
    return sent
