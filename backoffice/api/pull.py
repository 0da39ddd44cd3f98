"""Pull: customers with balance, aging and debt class; cases with stage and next step.

Every list is the calling token's company only, in ascending id order with an opaque cursor
(``pagination``). Amounts are decimal strings; codes come with their Chinese labels.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from backoffice.api.blueprint import bp, json_response
from backoffice.api.guard import company_id, scoped
from backoffice.api.pagination import paginate
from backoffice.api.problems import API_LOCALE, ApiProblem
from backoffice.extensions import db
from backoffice.models.base import SHANGHAI, LabeledEnum, local_today
from backoffice.models.case import CaseStatus, CollectionCase
from backoffice.models.customer import Customer
from backoffice.models.receivable import Receivable
from backoffice.services import aging

ZERO = Decimal("0.00")
_CLASS_ORDER = [c.value for c in aging.DebtClass]  # the worst open debt names the customer


today = local_today


def labeled(value: Any) -> dict[str, str] | None:
    """An enum as ``{"code", "label"}``, the label in Chinese."""
    if value is None:
        return None
    with force_locale(API_LOCALE):
        return {"code": value.value, "label": str(value.label)}


def timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(SHANGHAI).isoformat(timespec="seconds")


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _one(model: type, item_id: int) -> Any:
    row = db.session.get(model, item_id)
    if row is None or row.company_id != company_id():
        raise ApiProblem("not-found")  # another company's row does not exist for this token
    return row


# ---------------------------------------------------------------------------------------------
# Customers


def customer_figures(ids: list[int], as_of: date) -> dict[int, dict[str, Any]]:
    """Balance, overdue amount, aging buckets and debt class of each customer, in one query."""
    rules = aging.debt_class_rules(db.session)
    bucket = aging.bucket_expr(as_of)
    debt = aging.debt_class_expr(as_of, rules)
    rows = db.session.execute(
        select(Receivable.customer_id, bucket, debt, func.sum(Receivable.outstanding))
        .where(Receivable.customer_id.in_(ids), Receivable.outstanding > ZERO)
        .group_by(Receivable.customer_id, bucket, debt)
    ).all()
    figures: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"balance": ZERO, "aging": {b.value: ZERO for b in aging.Bucket}, "class": None}
    )
    for customer_id, bucket_value, class_value, amount in rows:
        f = figures[customer_id]
        amount = Decimal(amount or 0).quantize(Decimal("0.01"))
        f["balance"] += amount
        f["aging"][bucket_value] += amount
        if f["class"] is None or _CLASS_ORDER.index(class_value) > _CLASS_ORDER.index(f["class"]):
            f["class"] = class_value
    return figures


def customer_json(c: Customer, figures: dict[str, Any]) -> dict[str, Any]:
    debt_class = aging.DebtClass(figures["class"]) if figures["class"] else aging.DebtClass.NORMAL
    buckets = figures["aging"]
    return {
        "id": c.id,
        "erp_code": c.erp_code,
        "name": c.name,
        "sales_unit": None if c.sales_unit is None else c.sales_unit.code,
        "credit_rating": c.credit_rating.value if c.credit_rating else None,
        "credit_limit": c.credit_limit,
        "shipment_hold": c.shipment_hold,
        "balance": figures["balance"],
        "overdue": figures["balance"] - buckets[aging.Bucket.NOT_DUE.value],
        "aging": {
            b.value: {"label": labeled(b)["label"], "amount": buckets[b.value]}
            for b in aging.Bucket
        },
        "debt_class": labeled(debt_class),
    }


def _customers(rows: list[Customer]) -> list[dict[str, Any]]:
    figures = customer_figures([c.id for c in rows], today())
    empty = {"balance": ZERO, "aging": {b.value: ZERO for b in aging.Bucket}, "class": None}
    return [customer_json(c, figures.get(c.id, empty)) for c in rows]


@bp.get("/customers")
@scoped("customers:read")
def list_customers():
    """Customers of the token's company with balance, aging and debt class as of today."""
    stmt = select(Customer).where(Customer.company_id == company_id())
    code = _arg("erp_code")
    if code:
        stmt = stmt.where(Customer.erp_code == code)
    page = paginate(db.session, "customers", stmt, Customer.id, _customers)
    return json_response({**page, "as_of": today().isoformat()})


@bp.get("/customers/<int:customer_id>")
@scoped("customers:read")
def get_customer(customer_id: int):
    """One customer with balance, aging and debt class as of today."""
    return json_response(_customers([_one(Customer, customer_id)])[0])


# ---------------------------------------------------------------------------------------------
# Cases


class NextStep(LabeledEnum):
    """What a case waits for, by stage (Art.16–17, 21, 23)."""

    TEAM_DECISION = "team_decision", _l("The collection team accepts or refuses the application")
    SEND_CHECKLIST = "send_checklist", _l("The collection team sends the document checklist")
    SUBMIT_DOCUMENTS = (
        "submit_documents",
        _l("The business unit submits evidence, reasons and proposed measures"),
    )
    COLLECT = "collect", _l("Collect according to the strategy")


_NEXT = {
    CaseStatus.APPLIED: NextStep.TEAM_DECISION,  # Art.16 (4): no case until the team accepts
    CaseStatus.FILED: NextStep.SEND_CHECKLIST,  # Art.17: the checklist follows the filing
    CaseStatus.DOCUMENTS_REQUESTED: NextStep.SUBMIT_DOCUMENTS,  # Art.17: 5 working days
    CaseStatus.IN_PROGRESS: NextStep.COLLECT,  # Art.23: strategy by financial status
}


def next_step(case: CollectionCase) -> dict[str, Any] | None:
    """The case's next step: who acts, by when, with what strategy; None once it is over."""
    step = _NEXT.get(case.status)
    if step is None:
        return None
    out: dict[str, Any] = {**labeled(step), "due": None, "strategy": None}
    if step is NextStep.SUBMIT_DOCUMENTS:
        out["due"] = day(case.documents_due)
    if step is NextStep.COLLECT:
        out["strategy"] = labeled(case.strategy_override or case.suggested_strategy)
    return out


def case_json(case: CollectionCase) -> dict[str, Any]:
    return {
        "id": case.id,
        "case_no": case.case_no,
        "customer": {
            "id": case.customer_id,
            "erp_code": case.customer.erp_code,
            "name": case.customer.name,
        },
        "origin": labeled(case.origin),
        "stage": labeled(case.status),
        "next_step": next_step(case),
        "filed_on": day(case.filed_on),
        "amount_at_filing": case.amount_at_filing,
        "outcome": labeled(case.outcome),
        "closed_on": day(case.closed_on),
        "updated_at": timestamp(case.updated_at),
    }


def _cases(rows: list[CollectionCase]) -> list[dict[str, Any]]:
    ids = {c.customer_id for c in rows}
    if ids:  # one query for the page's customers
        list(db.session.scalars(select(Customer).where(Customer.id.in_(ids))))
    return [case_json(c) for c in rows]


@bp.get("/cases")
@scoped("cases:read")
def list_cases():
    """Collection cases of the token's company with their stage and next step."""
    stmt = select(CollectionCase).where(CollectionCase.company_id == company_id())
    stage = _arg("stage")
    if stage:
        if stage not in {s.value for s in CaseStatus}:
            raise ApiProblem("bad-request", "stage")
        stmt = stmt.where(CollectionCase.status == CaseStatus(stage))
    return json_response(paginate(db.session, "cases", stmt, CollectionCase.id, _cases))


@bp.get("/cases/<int:case_id>")
@scoped("cases:read")
def get_case(case_id: int):
    """One collection case with its stage and next step."""
    return json_response(case_json(_one(CollectionCase, case_id)))


def _arg(name: str) -> str | None:
    from flask import request

    value = request.args.get(name)
    return value.strip()[:200] if value else None
