"""Pull: monthly statements (metadata and the PDF, verified by hash) and filed write-offs.

A statement's PDF is served only after its bytes hash to the SHA-256 recorded when it was
stored, as evidence downloads are; a mismatch is refused (500 problem) and raises an audit
alert. Write-offs appear once filed (Art.18: filed by the president's office and finance),
for the ERP to post with their accounting reference.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from flask import url_for
from sqlalchemy import select

from backoffice.api.blueprint import bp, json_response
from backoffice.api.guard import company_id, scoped
from backoffice.api.pagination import paginate
from backoffice.api.problems import ApiProblem
from backoffice.api.pull import _arg, _one, day, labeled, timestamp
from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.customer import Customer
from backoffice.models.monthly import Statement
from backoffice.models.receivable import Receivable
from backoffice.models.writeoff import WriteOffApplication, WriteOffItem, WriteOffStatus
from backoffice.services import audit
from backoffice.services.storage import StorageError, TamperedError, get_storage
from backoffice.views.base import attachment

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _customer(c: Customer) -> dict[str, Any]:
    return {"id": c.id, "erp_code": c.erp_code, "name": c.name}


def _load_customers(ids: set[int]) -> None:
    if ids:  # one query for the page's customers; relationships then hit the identity map
        list(db.session.scalars(select(Customer).where(Customer.id.in_(ids))))


# ---------------------------------------------------------------------------------------------
# Statements


def statement_json(s: Statement) -> dict[str, Any]:
    return {
        "id": s.id,
        "period": s.period,
        "as_of": day(s.as_of),
        "customer": _customer(s.customer),
        "total_outstanding": s.total_outstanding,
        "sha256": s.pdf_sha256,
        "pdf": url_for("api.statement_pdf", statement_id=s.id) if s.pdf_key else None,
        "created_at": timestamp(s.created_at),
    }


def _statements(rows: list[Statement]) -> list[dict[str, Any]]:
    _load_customers({s.customer_id for s in rows})
    return [statement_json(s) for s in rows]


@bp.get("/statements")
@scoped("statements:read")
def list_statements():
    """Statements of account of the token's company; ``period=YYYY-MM`` narrows to a month."""
    stmt = select(Statement).where(Statement.company_id == company_id())
    period = _arg("period")
    if period:
        if not _PERIOD.fullmatch(period):
            raise ApiProblem("bad-request", "period: YYYY-MM")
        stmt = stmt.where(Statement.period == period)
    return json_response(paginate(db.session, "statements", stmt, Statement.id, _statements))


@bp.get("/statements/<int:statement_id>")
@scoped("statements:read")
def get_statement(statement_id: int):
    """One statement's metadata, with the SHA-256 of its PDF."""
    return json_response(statement_json(_one(Statement, statement_id)))


@bp.get("/statements/<int:statement_id>/pdf")
@scoped("statements:read")
def statement_pdf(statement_id: int):
    """The statement's PDF, after checking it against its recorded SHA-256 (audited)."""
    s = _one(Statement, statement_id)
    if not s.pdf_key:
        raise ApiProblem("not-found")
    storage = get_storage()
    try:
        if s.pdf_sha256:
            with storage.read_verified(s.pdf_key, s.pdf_sha256) as fh:
                data = fh.read()
        else:  # made before hashes were recorded: served as stored, marked unverified
            with storage.open(s.pdf_key) as fh:
                data = fh.read()
    except TamperedError as exc:
        audit.record_now(AuditAction.ALERT, entity="statement", entity_id=s.id, detail=str(exc))
        raise ApiProblem("stored-file-tampered", statement=s.id) from exc
    except (StorageError, OSError) as exc:
        raise ApiProblem("not-found") from exc
    name = f"对账单-{s.customer.name}-{s.period}.pdf"
    audit.record(db.session, AuditAction.DOWNLOAD, entity="statement", entity_id=s.id, detail=name)
    db.session.commit()
    response = attachment(data, name, "application/pdf")
    if s.pdf_sha256:
        digest = base64.b64encode(bytes.fromhex(s.pdf_sha256)).decode()
        response.headers["Repr-Digest"] = f"sha-256=:{digest}:"  # RFC 9530
        response.headers["X-Content-SHA256"] = s.pdf_sha256
    response.headers["X-Verified"] = "true" if s.pdf_sha256 else "false"
    return response


# ---------------------------------------------------------------------------------------------
# Write-offs


def writeoff_json(app: WriteOffApplication, items: list[tuple[str, Any]]) -> dict[str, Any]:
    return {
        "id": app.id,
        "app_no": app.app_no,
        "customer": _customer(app.customer),
        "ground": labeled(app.ground),
        "amount": app.amount,
        "accounting_ref": app.accounting_ref,
        "filed_at": timestamp(app.filed_at),
        "items": [{"doc_no": doc_no, "amount": amount} for doc_no, amount in items],
    }


def _writeoffs(rows: list[WriteOffApplication]) -> list[dict[str, Any]]:
    _load_customers({a.customer_id for a in rows})
    items: dict[int, list[tuple[str, Any]]] = {a.id: [] for a in rows}
    if rows:
        for app_id, doc_no, amount in db.session.execute(
            select(WriteOffItem.application_id, Receivable.doc_no, WriteOffItem.amount)
            .join(Receivable, Receivable.id == WriteOffItem.receivable_id)
            .where(WriteOffItem.application_id.in_(items))
            .order_by(WriteOffItem.id)
        ):
            items[app_id].append((doc_no, amount))
    return [writeoff_json(a, items[a.id]) for a in rows]


def _filed():
    return select(WriteOffApplication).where(
        WriteOffApplication.company_id == company_id(),
        WriteOffApplication.status == WriteOffStatus.FILED,
    )


@bp.get("/writeoffs")
@scoped("writeoffs:read")
def list_writeoffs():
    """Write-offs of the token's company that are filed on record, with their items."""
    return json_response(
        paginate(db.session, "writeoffs", _filed(), WriteOffApplication.id, _writeoffs)
    )


@bp.get("/writeoffs/<int:writeoff_id>")
@scoped("writeoffs:read")
def get_writeoff(writeoff_id: int):
    """One filed write-off with its items."""
    app = db.session.scalar(_filed().where(WriteOffApplication.id == writeoff_id))
    if app is None:
        raise ApiProblem("not-found")
    return json_response(_writeoffs([app])[0])
