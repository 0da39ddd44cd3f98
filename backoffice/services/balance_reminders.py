"""Reminders for unanswered positive-form 询证函 (issue 15).

A positive-form letter asks the debtor to answer. When it has not answered by the reply date
(``reply_due``), the request is sent again with ``reminder=True`` (a fresh link, the letter
re-rendered, "【催复】" in the subject: ``balance_confirm.send_letter``), then again every
*interval* working days (Setting ``balance_confirm_reminder_days``, default 5, working days of
``services/calendar.py``), up to ``BALANCE_CONFIRM_MAX_REMINDERS`` times (default 3).

The negative form needs no answer (its silence becomes "no disagreement received"), and a
对账确认 goes with the monthly statement anyway: neither is reminded.

Idempotent: each reminder first claims the request with one conditional UPDATE on what it saw
(state, ``reminders_sent``, ``last_reminded_on``), so a job run twice the same day, or two runs
at once, remind a request once per interval; a send that fails rolls the claim back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backoffice.models.balance_confirmation import (
    BalanceConfirmationRequest,
    BalanceConfirmationStatus,
    LetterForm,
)
from backoffice.services import balance_confirm, customer_mail, ledger_cache

SETTING = "balance_confirm_reminder_days"
DEFAULT_INTERVAL = 5
MAX_INTERVAL = 60


def interval_days(session: Session) -> int:
    """Working days between two reminders (Setting ``balance_confirm_reminder_days``)."""
    stored = ledger_cache.setting(session, SETTING)
    try:
        days = int(stored) if stored not in (None, "") else DEFAULT_INTERVAL
    except (TypeError, ValueError):
        return DEFAULT_INTERVAL
    return days if 1 <= days <= MAX_INTERVAL else DEFAULT_INTERVAL


def max_reminders() -> int:
    return int(current_app.config.get("BALANCE_CONFIRM_MAX_REMINDERS", 3))


def next_reminder_on(session: Session, req: BalanceConfirmationRequest) -> date:
    """The first day ``req`` may be reminded: the working day after its reply date, then
    ``interval_days`` working days after the last reminder."""
    if req.last_reminded_on is None:
        return balance_confirm.working_days_after(session, req.reply_due, 1)
    return balance_confirm.working_days_after(session, req.last_reminded_on, interval_days(session))


def due(session: Session, today: date) -> list[BalanceConfirmationRequest]:
    """The unanswered positive-form requests to remind on ``today``. Read-only."""
    candidates = session.scalars(
        select(BalanceConfirmationRequest)
        .where(
            BalanceConfirmationRequest.status == BalanceConfirmationStatus.SENT,
            BalanceConfirmationRequest.letter_form == LetterForm.POSITIVE,
            BalanceConfirmationRequest.reply_due < today,
            BalanceConfirmationRequest.reminders_sent < max_reminders(),
        )
        .order_by(BalanceConfirmationRequest.id)
    )
    return [r for r in candidates if next_reminder_on(session, r) <= today]


def _claim(session: Session, req: BalanceConfirmationRequest, today: date) -> bool:
    """Take the reminder of ``req`` for ``today``: one conditional UPDATE on what was read."""
    seen = BalanceConfirmationRequest.last_reminded_on
    result = session.execute(
        update(BalanceConfirmationRequest)
        .where(
            BalanceConfirmationRequest.id == req.id,
            BalanceConfirmationRequest.status == BalanceConfirmationStatus.SENT,
            BalanceConfirmationRequest.reminders_sent == req.reminders_sent,
            seen.is_(None) if req.last_reminded_on is None else seen == req.last_reminded_on,
        )
        .values(
            reminders_sent=BalanceConfirmationRequest.reminders_sent + 1,
            last_reminded_on=today,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


@dataclass
class ReminderRun:
    reminded: list[str] = field(default_factory=list)  # request numbers
    skipped: int = 0  # claimed by another run meanwhile


def send_reminders(session: Session, today: date) -> ReminderRun:
    """Remind every request ``due`` on ``today``; commits once per request (so a run killed
    half-way and run again reminds the rest, and nobody twice). A send that fails raises
    after rolling back that request's claim."""
    run = ReminderRun()
    for req in due(session, today):
        if not _claim(session, req, today):
            session.rollback()
            run.skipped += 1
            continue
        try:
            session.refresh(req)
            balance_confirm.send_letter(session, req, reminder=True)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        customer_mail.dispatch_pending(session)  # the committed reminder's e-mails
        run.reminded.append(req.number)
    return run
