"""Demo data for the debtor's balance confirmation (issue 15), made through the real services:
requests in every state, so the auditor's register and the collector's disputes have
something to show on a fresh run.

``every_state`` is also what the tests build their world with: one request per state
(awaiting a reply, confirmed, disputed with an open dispute, signed letter returned, no
disagreement received, link expired, link revoked) plus a confirmed 对账确认.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from backoffice.models.balance_confirmation import (
    BalanceConfirmationKind,
    BalanceConfirmationRequest,
    BalanceConfirmationStatus,
    DisputeReason,
    LetterForm,
)
from backoffice.models.base import SHANGHAI, utcnow
from backoffice.models.customer import Customer
from backoffice.services import balance_confirm
from backoffice.services import balance_confirm_answer as answer
from backoffice.services.balance_confirm_followup import NO_DISAGREEMENT_NOTE, record_silence

# A minimal PDF: the signed letter the debtor scans and uploads.
SIGNED_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
DEBTOR = answer.Visitor(ip="203.0.113.8", user_agent="Mozilla/5.0 (demo)")
STATES = (
    "sent",
    "confirmed",
    "disputed",
    "letter_returned",
    "no_disagreement",
    "expired",
    "revoked",
    "reconciliation",
)


def _request(session, customer, state: str, as_of: date, today: date, user):
    kind = BalanceConfirmationKind.AUDIT_LETTER
    form: LetterForm | None = LetterForm.POSITIVE
    if state == "no_disagreement":
        form = LetterForm.NEGATIVE
        # A round of the month before, whose reply period has run out by today, so that its
        # silence is what the daily job records (when the customer owed then too).
        earlier = as_of.replace(day=1) - timedelta(days=1)
        if balance_confirm.open_documents(session, customer.id, earlier):
            as_of = earlier
    if state == "reconciliation":
        kind, form = BalanceConfirmationKind.RECONCILIATION, None
    sent_on = min(as_of + timedelta(days=5), today)
    req = balance_confirm.create_request(
        session, customer=customer, kind=kind, as_of=as_of, letter_form=form, user=user,
        today=sent_on,
    )  # fmt: skip
    token = balance_confirm.issue_link(session, req)
    now = utcnow()
    # Sent at 10:00 and answered at 15:00 Beijing time, but never later than now: seeded in
    # the morning of the 1st, "answered today at 15:00" would lie in the future.
    req.sent_at = min(_at(sent_on, 10), now - timedelta(hours=3))
    link = answer.find_link(session, token)
    if state in ("confirmed", "reconciliation"):
        answer.confirm(session, link, DEBTOR, signer="财务部 李会计")
    elif state == "disputed":
        lines = list(req.lines)[:2]
        items = [
            answer.DisputedLine(
                line_id=line.id,
                disputed_amount=(line.outstanding / 4).quantize(Decimal("0.01")),
                reason=reason,
                note=note,
            )
            for line, reason, note in zip(
                lines,
                (DisputeReason.QUALITY, DisputeReason.ALREADY_PAID),
                ("第二批货物质量问题，已退回", "已于上月电汇"),
                strict=False,
            )
        ]
        disputed = sum((i.disputed_amount for i in items), Decimal("0.00"))
        answer.dispute(
            session, link, DEBTOR, debtor_balance=req.balance - disputed, lines=items,
            note="我司记录余额与贵司不符，详见各单据说明。", signer="财务部 张经理",
        )  # fmt: skip
    elif state == "letter_returned":
        scan = io.BytesIO(SIGNED_PDF)
        answer.return_letter(session, link, DEBTOR, "询证函回函（已盖章）.pdf", scan)
    elif state == "no_disagreement":
        # The negative form's silence, recorded by the daily job's own rule once the reply
        # date has passed; set directly when this round's reply date is still ahead.
        if req.reply_due < today:
            record_silence(session, today)
        if req.status is not BalanceConfirmationStatus.NO_DISAGREEMENT:
            req.status = BalanceConfirmationStatus.NO_DISAGREEMENT
            req.closed_note = NO_DISAGREEMENT_NOTE
    elif state == "expired":
        link.expires_at = utcnow() - timedelta(days=1)
    elif state == "revoked":
        if user is not None:
            balance_confirm.revoke_link(session, link, user)
        else:
            link.revoked_at = utcnow()
    if req.answered_at is not None:  # answered a few days after it was sent
        answered = _at(min(sent_on + timedelta(days=3), today), 15)
        link.used_at = req.answered_at = min(answered, now - timedelta(hours=1))
    session.flush()
    return req


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI).astimezone(UTC)


def every_state(
    session, customers: list[Customer], as_of: date, today: date, user: Any = None
) -> dict[str, BalanceConfirmationRequest]:
    """One request per state in ``STATES`` for the customers in turn (each needs an open
    document on ``as_of``; a dispute takes its first two). Flushes; the caller commits."""
    made = {}
    for n, state in enumerate(STATES):
        made[state] = _request(session, customers[n % len(customers)], state, as_of, today, user)
    return made


def seed(builder) -> None:
    """The demo's requests as of the end of last month, for customers with open documents
    in the demo collector's unit first (so the collector sees the open dispute), then others."""
    session, today = builder.session, builder.today
    as_of = today.replace(day=1) - timedelta(days=1)
    unit_ids = [u.id for u in builder.units]
    chosen: list[Customer] = []
    for unit_id in unit_ids:
        for customer in session.scalars(
            select(Customer).where(Customer.sales_unit_id == unit_id).order_by(Customer.id)
        ):
            if len(balance_confirm.open_documents(session, customer.id, as_of)) >= 2:
                chosen.append(customer)
            if len([c for c in chosen if c.sales_unit_id == unit_id]) >= 4:
                break
        if len(chosen) >= len(STATES):
            break
    if not chosen:
        return
    # The disputed one in the collector's unit: it is the third state, the third customer.
    every_state(session, chosen[: len(STATES)], as_of, today, builder.users.get("finance"))
    session.commit()
