"""The auditors' confirmations register per year (issue 15): every balance confirmation request
of the year with its answer, the counts by state, the reply rate and the agreed share.

Read-only. The rows are limited to what the user may see (``scope_filter``: a collector sees
the requests of their own units only), and to the filters asked (kind, form, state). The view
(``views/balance_register.py``) shows it and exports it to XLSX; the year's archive package
(``services/balance_archive.py``) keeps the replies.

The figures:

- *answered*: the debtor answered through its link (confirmed, disputed, signed letter
  returned); *unanswered*: still awaiting a reply;
- *reply rate*: answered ÷ the requests that asked for an answer (every request not
  cancelled); the negative form's silence is not a reply, it is counted apart as
  "no disagreement received";
- *agreed share*: the balance the debtors confirmed ÷ the balance of every request counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backoffice.models.balance_confirmation import (
    ANSWERED,
    BalanceConfirmationKind,
    BalanceConfirmationRequest,
    BalanceConfirmationStatus,
    BalanceDispute,
    DisputeStatus,
    LetterForm,
)
from backoffice.permissions import scope_filter

RESOURCE = "balance_confirmation_register"
S = BalanceConfirmationStatus
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Filters:
    """What the register is limited to (None: everything)."""

    year: int
    kind: BalanceConfirmationKind | None = None
    form: LetterForm | None = None
    status: BalanceConfirmationStatus | None = None

    @classmethod
    def parse(cls, year: int, kind: str | None, form: str | None, status: str | None) -> Filters:
        """From the page's query string; an unknown value is ignored (shows everything)."""

        def pick(enum: Any, raw: str | None) -> Any:
            try:
                return enum(raw) if raw else None
            except ValueError:
                return None

        return cls(
            year, pick(BalanceConfirmationKind, kind), pick(LetterForm, form), pick(S, status)
        )


@dataclass
class Count:
    """How many requests and their balance."""

    n: int = 0
    amount: Decimal = ZERO

    def add(self, req: BalanceConfirmationRequest) -> None:
        self.n += 1
        self.amount += req.balance or ZERO


@dataclass
class Summary:
    sent: Count = field(default_factory=Count)
    answered: Count = field(default_factory=Count)
    confirmed: Count = field(default_factory=Count)
    disputed: Count = field(default_factory=Count)
    letter_returned: Count = field(default_factory=Count)
    no_disagreement: Count = field(default_factory=Count)
    unanswered: Count = field(default_factory=Count)
    undeliverable: Count = field(default_factory=Count)
    cancelled: Count = field(default_factory=Count)

    @property
    def asked(self) -> int:
        """Requests that asked for an answer (every one not cancelled)."""
        return self.sent.n - self.cancelled.n

    @property
    def reply_rate(self) -> Decimal | None:
        """Answered ÷ asked, as a fraction (None when nothing was asked)."""
        if not self.asked:
            return None
        return (Decimal(self.answered.n) / Decimal(self.asked)).quantize(Decimal("0.0001"))

    @property
    def agreed_share(self) -> Decimal | None:
        """The balance the debtors confirmed ÷ the balance asked, as a fraction."""
        total = self.sent.amount - self.cancelled.amount
        if total <= 0:
            return None
        return (self.confirmed.amount / total).quantize(Decimal("0.0001"))


_BY_STATUS = {
    S.CONFIRMED: "confirmed",
    S.DISPUTED: "disputed",
    S.LETTER_RETURNED: "letter_returned",
    S.NO_DISAGREEMENT: "no_disagreement",
    S.SENT: "unanswered",
    S.UNDELIVERABLE: "undeliverable",
    S.CANCELLED: "cancelled",
}


def summarize(requests: list[BalanceConfirmationRequest]) -> Summary:
    """The register's counts and amounts over ``requests``."""
    summary = Summary()
    for req in requests:
        summary.sent.add(req)
        if req.status in ANSWERED:
            summary.answered.add(req)
        getattr(summary, _BY_STATUS[req.status]).add(req)
    return summary


def requests(session: Session, user: Any, filters: Filters) -> list[BalanceConfirmationRequest]:
    """The year's requests the user may see, matching ``filters``, by number. Read-only."""
    stmt = (
        select(BalanceConfirmationRequest)
        .where(BalanceConfirmationRequest.year == filters.year)
        .where(scope_filter(BalanceConfirmationRequest, user))
        .options(
            selectinload(BalanceConfirmationRequest.customer),
            selectinload(BalanceConfirmationRequest.sales_unit),
            selectinload(BalanceConfirmationRequest.links),
        )
        .order_by(BalanceConfirmationRequest.number)
    )
    if filters.kind is not None:
        stmt = stmt.where(BalanceConfirmationRequest.kind == filters.kind)
    if filters.form is not None:
        stmt = stmt.where(BalanceConfirmationRequest.letter_form == filters.form)
    if filters.status is not None:
        stmt = stmt.where(BalanceConfirmationRequest.status == filters.status)
    return list(session.scalars(stmt))


def disputes_of(session: Session, ids: list[int]) -> dict[int, BalanceDispute]:
    """request id → its dispute (only disputed requests have one)."""
    if not ids:
        return {}
    rows = session.scalars(select(BalanceDispute).where(BalanceDispute.request_id.in_(ids)))
    return {d.request_id: d for d in rows}


def years(session: Session, user: Any) -> list[int]:
    """The years with requests the user may see, latest first."""
    return list(
        session.scalars(
            select(BalanceConfirmationRequest.year)
            .where(scope_filter(BalanceConfirmationRequest, user))
            .distinct()
            .order_by(BalanceConfirmationRequest.year.desc())
        )
    )


def headers() -> list[str]:
    return [
        _("Number"),
        _("Kind"),
        _("Letter form"),
        _("Customer"),
        _("Sales unit"),
        _("As of"),
        _("Balance"),
        _("State"),
        _("Sent"),
        _("Reply due"),
        _("Answered"),
        _("Debtor's balance"),
        _("Difference"),
        _("Dispute"),
        _("Reminders sent"),
        _("Link"),
    ]


#: Columns holding amounts (the page formats them; the XLSX keeps them numbers).
AMOUNT_COLUMNS = frozenset({6, 11, 12})


def cells(req: BalanceConfirmationRequest, dispute: BalanceDispute | None) -> list[Any]:
    """One register row as typed values: dates stay dates, amounts ``Decimal``, enums their
    labels (through ``export.cell_value`` on the way out), timestamps aware (shown in Shanghai)."""
    difference = None
    if req.debtor_balance is not None:
        difference = (req.balance or ZERO) - req.debtor_balance
    return [
        req.number,
        req.kind,
        req.letter_form if req.letter_form is not None else "",
        req.customer.name if req.customer else "",
        req.sales_unit.name if req.sales_unit else "",
        req.as_of,
        req.balance,
        req.status,
        req.sent_at,
        req.reply_due,
        req.answered_at,
        req.debtor_balance,
        difference,
        dispute_state(dispute),
        req.reminders_sent or 0,
        link_state(req),
    ]


def dispute_state(dispute: BalanceDispute | None) -> str:
    """Whether the request's dispute is being resolved or resolved, in words."""
    if dispute is None:
        return ""
    if dispute.status is DisputeStatus.OPEN:
        return _("Being resolved")
    return _("Resolved: %(how)s", how=dispute.resolution.label if dispute.resolution else "")


def link_state(req: BalanceConfirmationRequest) -> str:
    """The state of the request's latest link, in words ("" when none was issued)."""
    from backoffice.services.balance_confirm_answer import LinkState, state_of

    if not req.links:
        return ""
    labels = {
        LinkState.OPEN: _("Link open"),
        LinkState.EXPIRED: _("Link expired"),
        LinkState.REVOKED: _("Link revoked"),
        LinkState.USED: _("Link used"),
    }
    return labels[state_of(req.links[-1])]
