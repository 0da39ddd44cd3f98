"""Collateral and payment in kind (抵押担保、以物抵债, Art.23 (2)(2)(3)): appraisal (鉴定评估),
preservation (保全) and transfer of title (所有权转移登记) as steps in that order, each with
its document from the case's evidence store, then the value realised, booked as a recovery.

The value realised goes where the debt is: while the case's receivables are still open it is
a payment (``PaymentKind.PAYMENT``, numbered ``DZ…``) allocated to them by
``payments.allocate``; once they were written off it is a recovery on the customer's recourse
entry (``writeoff.record_recovery``, Art.18). Each step claims the asset's ``stage``
(compare-and-set), so two clerks cannot book the same step twice. Functions add to the
session; callers commit.

``step_events`` gives the case file's timeline each step done: its date, what it recorded, its
document, and who recorded it when (read from the audit trail, shown in Beijing time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.audit import AuditAction, AuditLog
from backoffice.models.case import AssetStage, Collateral, CollectionCase, PaymentInKind
from backoffice.models.evidence import EvidenceDocument
from backoffice.models.receivable import Payment, PaymentKind
from backoffice.models.user import User
from backoffice.models.writeoff import RecourseEntry
from backoffice.services import payments
from backoffice.services.case_core import OPEN, CaseError
from backoffice.services.case_progress import open_balance
from backoffice.services.formatting import format_money
from backoffice.services.numbering import next_number
from backoffice.services.transitions import claim

Asset = Collateral | PaymentInKind
#: Each step and the stage it needs before it.
NEEDS = {
    AssetStage.APPRAISED: AssetStage.REGISTERED,
    AssetStage.PRESERVED: AssetStage.APPRAISED,
    AssetStage.TITLE_TRANSFERRED: AssetStage.PRESERVED,
    AssetStage.REALISED: AssetStage.TITLE_TRANSFERRED,
}


def _step(session: Session, asset: Asset, to: AssetStage, on: date, today: date) -> None:
    claim(session, asset, "stage")
    if asset.case.status not in OPEN:
        raise CaseError(
            gettext("a case that is %(now)s cannot change", now=asset.case.status.label)
        )
    if asset.stage is not NEEDS[to]:
        raise CaseError(
            gettext(
                "%(step)s comes after %(before)s; this asset is %(now)s",
                step=to.label,
                before=NEEDS[to].label,
                now=asset.stage.label,
            )
        )
    if on > today:
        raise CaseError(gettext("the date cannot be in the future"))


def _document(session: Session, asset: Asset, document_id: int | None) -> int:
    """The step's document: a live document of the same case in the evidence store."""
    doc = session.get(EvidenceDocument, document_id) if document_id else None
    if doc is None or doc.case_id != asset.case_id or doc.deleted_at is not None:
        raise CaseError(gettext("choose the step's document from the case's evidence"))
    return doc.id


def appraise(
    session: Session, asset: Asset, value: Decimal | None, on: date, document_id, today: date
) -> None:
    """Step 1 (资产鉴定、评估): the appraised value and the appraisal report."""
    _step(session, asset, AssetStage.APPRAISED, on, today)
    if value is None or value <= 0:
        raise CaseError(gettext("enter the appraised value"))
    asset.appraisal_doc_id = _document(session, asset, document_id)
    asset.appraisal_value, asset.appraised_on = value, on
    asset.stage = AssetStage.APPRAISED


def preserve(
    session: Session, asset: Asset, measure: str, on: date, document_id, today: date
) -> None:
    """Step 2 (保全): the measure taken (seizure, registration of the pledge…) and its proof."""
    _step(session, asset, AssetStage.PRESERVED, on, today)
    if on < asset.appraised_on:
        raise CaseError(gettext("a step cannot be dated before the step it follows"))
    measure = (measure or "").strip()
    if not measure:
        raise CaseError(gettext("describe the preservation measure"))
    asset.preservation_doc_id = _document(session, asset, document_id)
    asset.preservation, asset.preserved_on = measure, on
    asset.stage = AssetStage.PRESERVED


def transfer_title(session: Session, asset: Asset, on: date, document_id, today: date) -> None:
    """Step 3 (所有权转移登记): the registration of the transfer of title."""
    _step(session, asset, AssetStage.TITLE_TRANSFERRED, on, today)
    if on < asset.preserved_on:
        raise CaseError(gettext("a step cannot be dated before the step it follows"))
    asset.title_doc_id = _document(session, asset, document_id)
    asset.title_transferred_on = on
    asset.stage = AssetStage.TITLE_TRANSFERRED


def _name(asset: Asset) -> str:
    return asset.asset if isinstance(asset, PaymentInKind) else asset.description


def realise(session: Session, asset: Asset, value: Decimal | None, on: date, today: date):
    """Step 4: the value realised is booked as a recovery — a payment allocated to the case's
    open receivables, or, once they were written off, a recovery on the recourse entry.
    Returns the ``Payment`` or ``Recovery`` booked."""
    from backoffice.services.writeoff import WriteOffError, record_recovery

    _step(session, asset, AssetStage.REALISED, on, today)
    if on < asset.title_transferred_on:
        raise CaseError(gettext("a step cannot be dated before the step it follows"))
    if value is None or value <= 0:
        raise CaseError(gettext("enter the value realised"))
    case: CollectionCase = asset.case
    note = f"{case.case_no} {_name(asset)[:100]}"
    asset.realised_value, asset.realised_on = value, on
    asset.stage = AssetStage.REALISED
    if open_balance(session, case) > 0:
        payment = Payment(
            customer_id=case.customer_id,
            company_id=case.company_id,
            sales_unit_id=case.sales_unit_id,
            payment_no=next_number(session, Payment.payment_no, "DZ", on.year),
            kind=PaymentKind.PAYMENT,
            amount=value,
            received_on=on,
            unallocated=value,
            note=f"以物抵债/担保物变现 {note}",
        )
        session.add(payment)
        session.flush()
        payments.allocate(session, payment)
        asset.realised_payment_id = payment.id
        return payment
    entry = session.scalar(
        select(RecourseEntry)
        .where(
            RecourseEntry.customer_id == case.customer_id,
            RecourseEntry.recovered < RecourseEntry.written_off,
        )
        .order_by(RecourseEntry.opened_on, RecourseEntry.id)
    )
    if entry is None:
        raise CaseError(gettext("nothing of this customer is left to recover"))
    try:
        recovery = record_recovery(session, entry, value, on, note=f"以物抵债 {note}")
    except WriteOffError as exc:
        raise CaseError(str(exc)) from exc
    session.flush()
    asset.realised_recovery_id = recovery.id
    return recovery


# ---------------------------------------------------------------------------------------------
# Art.23 (2)(3): the steps on the case's timeline

#: Each step's name on the timeline, in the order the steps are taken.
STEP_NAMES = {
    AssetStage.APPRAISED: _l("Appraisal"),
    AssetStage.PRESERVED: _l("Preservation"),
    AssetStage.TITLE_TRANSFERRED: _l("Transfer of title"),
    AssetStage.REALISED: _l("Value realised and booked"),
}


@dataclass(frozen=True)
class StepEvent:
    """One step done on a collateral or a payment in kind."""

    on: date
    stage: AssetStage
    asset: Asset
    detail: str
    document: EvidenceDocument | None
    recorded_by: str | None
    recorded_at: datetime | None

    @property
    def what(self) -> str:
        """The asset as people name it: its kind (抵押 / 质押 / 保证, or 以物抵债) and name."""
        if isinstance(self.asset, Collateral):
            return f"{self.asset.kind.label}：{self.asset.description}"
        return f"{gettext('Payment in kind')}：{self.asset.asset}"

    @property
    def name(self) -> str:
        return str(STEP_NAMES[self.stage])


#: (step, the date it took place, what it recorded, its document)
Fact = tuple[AssetStage, date | None, str, int | None]


def _step_facts(session: Session, asset: Asset) -> list[Fact]:
    """(step, date, what it recorded, its document) for each step of ``asset``."""
    booked = ""
    if asset.realised_payment_id:
        payment = session.get(Payment, asset.realised_payment_id)
        booked = gettext("booked as payment %(no)s", no=payment.payment_no) if payment else ""
    elif asset.realised_recovery_id:
        booked = gettext("booked as a recovery of the written-off debt")
    value = asset.realised_value
    return [
        (AssetStage.APPRAISED, asset.appraised_on,
         format_money(asset.appraisal_value) if asset.appraisal_value else "",
         asset.appraisal_doc_id),
        (AssetStage.PRESERVED, asset.preserved_on, asset.preservation or "",
         asset.preservation_doc_id),
        (AssetStage.TITLE_TRANSFERRED, asset.title_transferred_on, "", asset.title_doc_id),
        (AssetStage.REALISED, asset.realised_on,
         " ".join(x for x in (format_money(value) if value else "", booked) if x), None),
    ]  # fmt: skip


#: The column each step sets: the audit entry that first wrote it recorded the step.
STEP_DATES = {
    AssetStage.APPRAISED: "appraised_on",
    AssetStage.PRESERVED: "preserved_on",
    AssetStage.TITLE_TRANSFERRED: "title_transferred_on",
    AssetStage.REALISED: "realised_on",
}


def _recorded(session: Session, assets: Sequence[Asset]) -> dict[tuple[str, str, str], AuditLog]:
    """Per (table, asset id, stage): the audit entry that first wrote the step's date (two
    steps booked in one transaction share their entry)."""
    ids: dict[str, list[str]] = {}
    for asset in assets:
        ids.setdefault(asset.__tablename__, []).append(str(asset.id))
    found: dict[tuple[str, str, str], AuditLog] = {}
    for table, entity_ids in ids.items():
        entries = session.scalars(
            select(AuditLog)
            .where(AuditLog.entity == table, AuditLog.entity_id.in_(entity_ids))
            .where(AuditLog.action.in_((AuditAction.CREATE.value, AuditAction.UPDATE.value)))
            .order_by(AuditLog.seq)
        )
        for entry in entries:
            after = entry.after or {}
            for stage, column in STEP_DATES.items():
                if after.get(column):
                    found.setdefault((table, entry.entity_id, stage.value), entry)
    return found


def step_events(session: Session, assets: Sequence[Asset]) -> list[StepEvent]:
    """Art.23 (2)(3): every step done on ``assets`` (one case's collateral and payments in
    kind), dated when it took place, with what it recorded, its document, and who recorded it
    when (from the audit trail; none for rows written with the audit off). Read-only."""
    recorded = _recorded(session, assets)
    facts = {(asset.__tablename__, asset.id): _step_facts(session, asset) for asset in assets}
    doc_ids = {doc for steps in facts.values() for *_, doc in steps if doc is not None}
    docs = {
        d.id: d
        for d in session.scalars(select(EvidenceDocument).where(EvidenceDocument.id.in_(doc_ids)))
    }
    user_ids = {entry.actor_id for entry in recorded.values() if entry.actor_id is not None}
    names = dict(
        session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all()
    )
    events = []
    for asset in assets:
        for stage, on, detail, doc in facts[(asset.__tablename__, asset.id)]:
            if on is None:
                continue
            entry = recorded.get((asset.__tablename__, str(asset.id), stage.value))
            events.append(
                StepEvent(
                    on,
                    stage,
                    asset,
                    detail,
                    docs.get(doc) if doc is not None else None,
                    # a command or job has no user: "the system", not its technical name
                    (names.get(entry.actor_id) or gettext("The system")) if entry else None,
                    entry.at if entry else None,
                )
            )
    return events
