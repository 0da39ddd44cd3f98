"""Art.14 link (issue 15): the debtor's own answer feeds the monthly confirmation form.

When a customer has confirmed or disputed its balance through its link, each of its lines on
the unit's confirmation form (Annex 1) shows that answer beside it, and an unanswered line
starts from it:

- a document the debtor disputed: the reason class and specific reason its dispute reason
  implies (price → 单价差异, quantity or not received → 交货数量差异, quality → 品质问题,
  already paid → 财务记账差异, to be verified by finance), the recoverable amount less what is
  disputed, and the debtor's words in the comment;
- a document of a confirmed balance (or not disputed in a dispute): the debtor acknowledges
  the debt, so an external reason, 客户无故拖欠货款 (Art.15: unjustified delay), and the whole
  amount recoverable.

The expected collection date stays for the collector to give. Nothing is saved here: the
collector saves the form as usual (``services/confirmation.py``). Read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.balance_confirmation import (
    BalanceConfirmationRequest,
    BalanceConfirmationStatus,
    BalanceDispute,
    BalanceDisputeLine,
    DisputeReason,
)
from backoffice.models.monthly import ConfirmationLine, OverdueReason, ReasonClass, RouteHint
from backoffice.services.formatting import format_money, local_datetime

ANSWERS = (BalanceConfirmationStatus.CONFIRMED, BalanceConfirmationStatus.DISPUTED)
#: A dispute reason → (reason class, the seed's specific reason, Art.14).
REASON_OF = {
    DisputeReason.PRICE: (ReasonClass.EXTERNAL, "单价差异"),
    DisputeReason.QUANTITY: (ReasonClass.EXTERNAL, "交货数量差异"),
    DisputeReason.NOT_RECEIVED: (ReasonClass.EXTERNAL, "交货数量差异"),
    DisputeReason.QUALITY: (ReasonClass.EXTERNAL, "品质问题"),
    DisputeReason.ALREADY_PAID: (ReasonClass.INTERNAL, "财务记账差异"),
}
ACKNOWLEDGED = (ReasonClass.EXTERNAL, RouteHint.UNJUSTIFIED)


@dataclass(frozen=True)
class DebtorAnswer:
    """The customer's latest answer, and what it says of one document."""

    request: BalanceConfirmationRequest
    disputed: BalanceDisputeLine | None  # this document's disputed line, if any

    @property
    def confirmed(self) -> bool:
        return self.request.status is BalanceConfirmationStatus.CONFIRMED

    def summary(self) -> str:
        """One line beside the form's line: what the debtor answered, when, on which request."""
        req = self.request
        when = local_datetime(req.answered_at) if req.answered_at else ""
        if self.confirmed:
            text = _(
                "The customer confirmed its balance of %(balance)s as of %(as_of)s",
                balance=format_money(req.balance),
                as_of=req.as_of.isoformat(),
            )
        else:
            text = _(
                "The customer disputed its balance as of %(as_of)s: ours %(ours)s, theirs "
                "%(theirs)s",
                as_of=req.as_of.isoformat(),
                ours=format_money(req.balance),
                theirs=format_money(req.debtor_balance),
            )
        return f"{text}（{req.number}，{when}）" if when else f"{text}（{req.number}）"

    def line_text(self) -> str:
        """What the debtor said of this document ("" when it did not dispute it)."""
        d = self.disputed
        if d is None:
            return ""
        text = _(
            "This document disputed: %(reason)s, %(amount)s",
            reason=d.reason.label,
            amount=format_money(d.disputed_amount),
        )
        return f"{text}；{d.note}" if d.note else text


def answers_for_lines(
    session: Session, lines: list[ConfirmationLine], on: date
) -> dict[int, DebtorAnswer]:
    """line id → the latest confirmation or dispute of the line's customer as of ``on``."""
    customer_ids = {line.customer_id for line in lines}
    if not customer_ids:
        return {}
    latest: dict[int, BalanceConfirmationRequest] = {}
    for req in session.scalars(
        select(BalanceConfirmationRequest)
        .where(
            BalanceConfirmationRequest.customer_id.in_(customer_ids),
            BalanceConfirmationRequest.status.in_(ANSWERS),
            BalanceConfirmationRequest.as_of <= on,
        )
        .order_by(BalanceConfirmationRequest.as_of, BalanceConfirmationRequest.id)
    ):
        latest[req.customer_id] = req  # the later one wins
    disputed: dict[tuple[int, int], BalanceDisputeLine] = {}
    ids = [r.id for r in latest.values() if r.status is BalanceConfirmationStatus.DISPUTED]
    if ids:
        for dl, request_id in session.execute(
            select(BalanceDisputeLine, BalanceDispute.request_id)
            .join(BalanceDispute, BalanceDispute.id == BalanceDisputeLine.dispute_id)
            .where(BalanceDispute.request_id.in_(ids))
        ):
            disputed[(request_id, dl.receivable_id)] = dl
    out = {}
    for line in lines:
        req = latest.get(line.customer_id)
        if req is not None:
            out[line.id] = DebtorAnswer(req, disputed.get((req.id, line.receivable_id)))
    return out


def _reason_id(session: Session, cls: ReasonClass, label: str | None, hint=None) -> str:
    stmt = select(OverdueReason.id).where(
        OverdueReason.reason_class == cls, OverdueReason.active.is_(True)
    )
    stmt = stmt.where(OverdueReason.label == label) if label else stmt
    stmt = stmt.where(OverdueReason.route_hint == hint) if hint else stmt
    found = session.scalar(stmt.order_by(OverdueReason.id))
    return str(found or "")


def prefill(session: Session, line: ConfirmationLine, answer: DebtorAnswer) -> dict[str, str]:
    """The answer inputs of an unanswered ``line``, started from the debtor's answer."""
    outstanding = line.outstanding_at_close or Decimal("0.00")
    d = answer.disputed
    if d is not None and d.reason in REASON_OF:
        cls, label = REASON_OF[d.reason]
        sub = _reason_id(session, cls, label)
    elif d is not None:  # "other": the class only; the collector names the reason
        cls, sub = ReasonClass.EXTERNAL, ""
    else:
        cls, hint = ACKNOWLEDGED
        sub = _reason_id(session, cls, None, hint)
    recoverable = outstanding - (d.disputed_amount if d is not None else Decimal("0.00"))
    comment = answer.line_text() or answer.summary()
    return {
        "reason_class": cls.value,
        "sub_reason_id": sub,
        "estimated_recoverable": f"{max(recoverable, Decimal('0.00')):.2f}",
        "expected_date": "",
        "comment": comment[:500],
    }
