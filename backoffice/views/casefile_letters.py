"""The case file's documents as PDFs: the filing notice (附件2) and the demand and lawyer's
letters, each generated letter kept in the case file as a collection record (Art.17).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import abort, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.case import (
    CaseReceivable,
    CollectionAction,
)
from backoffice.models.receivable import Receivable, ReceivableStatus
from backoffice.permissions import Action
from backoffice.services import audit, evidence
from backoffice.services.pdf import PdfError, render_pdf
from backoffice.views import casefile as page
from backoffice.views.base import attachment
from backoffice.views.confirmation import send_stored


class CaseLetterPages(page.CaseFilePages):
    """The filing notice and the generated letters of a case file."""

    @expose("/file/<int:case_id>/filing-notice.pdf")
    def filing_notice_view(self, case_id: int):
        """The filing notice (Annex 2) as stored at filing; a DOWNLOAD audit entry."""
        self._require(Action.VIEW)
        case = self._case(case_id)
        return send_stored(
            case.filing_notice_key,
            f"逾期清收立案书-{case.case_no}.pdf",
            page.PDF,
            page.RESOURCE,
            case.id,
        )

    @expose("/file/<int:case_id>/letter/<kind>", methods=("POST",))
    def letter_view(self, case_id: int, kind: str):
        """A demand letter or lawyer's letter as a page.PDF, with the open documents and a deadline.
        Records a ``CollectionAction`` of that kind (each generation is one more letter)."""
        if kind not in page.LETTERS:
            abort(404)
        case, refused = self._open_case_for(case_id, "collection_action", f"letter {kind}")
        if refused is not None:
            return refused
        template, action_kind, title = page.LETTERS[kind]
        deadline = page.parse_date(request.form.get("deadline")) or page.today() + timedelta(
            days=page.LETTER_DAYS
        )
        if deadline <= page.today():
            return self._refused(
                case, f"letter {kind}", _("The deadline must be after today."), 400
            )
        receivables = db.session.scalars(
            select(Receivable)
            .join(CaseReceivable, CaseReceivable.receivable_id == Receivable.id)
            .where(
                CaseReceivable.case_id == case.id,
                Receivable.status == ReceivableStatus.OPEN,
                Receivable.outstanding > 0,
            )
            .order_by(Receivable.due_date, Receivable.id)
        ).all()
        try:
            pdf = render_pdf(
                template,
                company=case.company,
                case=case,
                customer=case.customer,
                receivables=receivables,
                total=sum((r.outstanding for r in receivables), Decimal(0)),
                deadline=deadline,
                issued_on=page.today(),
            )
        except PdfError as exc:
            return self._refused(case, f"letter {kind}", str(exc), 500)
        issued = _("Letter issued; deadline %(d)s.", d=deadline.isoformat())
        db.session.add(
            CollectionAction(
                case_id=case.id,
                kind=action_kind,
                on=page.today(),
                user_id=current_user.id,
                result=issued,
            )
        )
        # Art.17: the letter sent is part of the case's collection records; the file keeps
        # the exact bytes handed out (hashed, verified on download, sealed with the case).
        evidence.store_generated(
            db.session,
            case,
            pdf,
            filename=f"{title}-{case.case_no}-{page.today()}.pdf",
            user=current_user,
            note=issued,
        )
        audit.record(
            db.session, AuditAction.DOWNLOAD, entity=page.RESOURCE, entity_id=case.id, detail=title
        )
        db.session.commit()
        return attachment(pdf, f"{title}-{case.case_no}.pdf", page.PDF)
