"""The write-off application page and its shared helpers (呆账核销, Art.18; SPEC §3.5).

The page shows the Annex 6 checklist, materials, opinion, decisions, filing, recourse and the
accountability finding, with the forms this user may use; the Annex 3 PDF is downloaded here.
The forms post to ``writeoff_apply`` (the application form) and ``writeoff_flow`` (amend,
submit, decide, file, recover, accountability). Every endpoint checks the permission table
and the row scope (outside it: 404).
"""

from __future__ import annotations

from typing import Any

from flask import flash, url_for
from flask_admin import expose
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import or_, select

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.base import local_today
from backoffice.models.evidence import DocumentType, EvidenceDocument
from backoffice.models.user import RoleName
from backoffice.models.writeoff import (
    AccountabilityFinding,
    ApprovalDecision,
    Decision,
    RecourseEntry,
    ResponsibilityKind,
    WriteOffApplication,
    WriteOffGround,
    WriteOffStatus,
)
from backoffice.permissions import Action, can, scope_filter
from backoffice.services import audit
from backoffice.services import writeoff as wo
from backoffice.services.transitions import StaleStateError
from backoffice.views.base import attachment, deny

RESOURCE = "writeoff_application"
PDF = "application/pdf"
MAX_CUSTOMERS_SHOWN = 50


_today = local_today


def doc_type_label(value: str) -> str:
    """The label of an Annex 6 document type (a ``DocumentType`` value, or free text)."""
    try:
        return str(DocumentType(value).label)
    except ValueError:
        return value


def materials_checklist(app: WriteOffApplication) -> list[dict[str, Any]]:
    """Annex 6: each required document type of the ground, with whether it is in (no side
    effects)."""
    missing = set(wo.missing_materials(db.session, app))
    return [
        {"doc_type": t, "label": doc_type_label(t), "present": t not in missing}
        for t in wo.required_materials(db.session, app.ground)
    ]


def app_no_link(view, context, model: WriteOffApplication, name) -> Markup:
    """The list/details cell: the number, linking to the application page."""
    return Markup('<a href="{}">{}</a>').format(
        url_for("writeoff_application.application_view", app_id=model.id), model.app_no
    )


def application_link(view, context, model, name) -> Markup:
    """A cell naming the write-off application of a recourse entry or finding, linked."""
    app = getattr(model, "application", None)
    if app is None:
        return Markup("")
    return app_no_link(view, context, app, name)


class WriteOffPage:
    """The helpers every write-off endpoint uses, the application page and its PDF."""

    # -- helpers -------------------------------------------------------------------------------

    def _require(self, action: Action, resource: str = RESOURCE) -> None:
        if not can(current_user, resource, action):
            deny(resource, action)

    def _app(self, app_id: int) -> WriteOffApplication:
        return self.get_one(str(app_id))  # scoped: 404 outside the user's units

    def _refuse(self, app: WriteOffApplication | None, op: str, exc: Exception, status=409):
        """A refused operation: roll back, audit it, show the message on the page."""
        if isinstance(exc, StaleStateError):
            status = 409  # a concurrent decision won: a conflict, whatever the operation
        db.session.rollback()
        audit.record_now(
            AuditAction.REFUSED,
            entity=RESOURCE,
            entity_id=app.id if app is not None else None,
            detail=f"{op}: {exc}",
        )
        flash(str(exc), "error")
        if app is None:
            return None
        return self._page(db.session.get(WriteOffApplication, app.id), status=status)

    def _page(self, app: WriteOffApplication, status: int = 200):
        user = current_user
        decided = {
            d.user_id for d in app.decisions if d.round == app.round
        }  # Art.18: one decision per person per round
        may_decide = (
            app.status is WriteOffStatus.IN_APPROVAL
            and can(user, RESOURCE, Action.APPROVE)
            and user.id not in decided
            and wo.may_approve(db.session, app, user)
        )
        editable = app.status in wo.EDITABLE
        is_applicant = user.id == app.applicant_id
        finding = db.session.scalar(
            select(AccountabilityFinding).where(AccountabilityFinding.application_id == app.id)
        )
        entry = db.session.scalar(
            select(RecourseEntry).where(RecourseEntry.application_id == app.id)
        )
        documents = db.session.scalars(
            select(EvidenceDocument)
            .where(
                or_(
                    EvidenceDocument.writeoff_id == app.id,
                    *([EvidenceDocument.case_id == app.case_id] if app.case_id else []),
                ),
                EvidenceDocument.deleted_at.is_(None),
            )
            .where(scope_filter(EvidenceDocument, current_user))
            .order_by(EvidenceDocument.id)
        ).all()
        last_rejection = next(
            (d for d in reversed(app.decisions) if d.decision is Decision.REJECTED), None
        )
        filer_role = (user.has_role(RoleName.FINANCE) and app.filed_by_finance_id is None) or (
            user.has_role(RoleName.CREDIT) and app.filed_by_credit_id is None
        )
        return (
            self.render(
                "admin/writeoff_application.html",
                app=app,
                checklist=materials_checklist(app),
                missing=wo.missing_materials(db.session, app),
                documents=documents,
                decisions=sorted(app.decisions, key=lambda d: (d.round, d.decided_at)),
                chain=wo.CHAIN,
                grounds=list(WriteOffGround),
                kinds=list(ResponsibilityKind),
                finding=finding,
                entry=entry,
                last_rejection=last_rejection,
                may_edit=editable and is_applicant and can(user, RESOURCE, Action.EDIT),
                may_opinion=editable and can(user, RESOURCE, Action.OPINION),
                may_decide=may_decide,
                may_file=(
                    app.status is WriteOffStatus.APPROVED
                    and can(user, RESOURCE, Action.FILE)
                    and filer_role
                ),
                may_recover=entry is not None and can(user, "recovery", Action.CREATE),
                may_find=(
                    finding is not None
                    and finding.completed_at is None
                    and can(user, "accountability_finding", Action.EDIT)
                ),
                may_upload=editable and can(user, "evidence_document", Action.CREATE),
                may_download=can(user, RESOURCE, Action.DOWNLOAD),
                today=_today(),
            ),
            status,
        )

    # -- the application page -----------------------------------------------------------------

    @expose("/app/<int:app_id>/")
    def application_view(self, app_id: int):
        """The application: checklist, materials, opinion, decisions and the forms this user
        may use. Read only; no side effects."""
        self._require(Action.VIEW)
        return self._page(self._app(app_id))

    # -- Annex 3 PDF ------------------------------------------------------------------------------

    @expose("/app/<int:app_id>/pdf")
    def pdf_view(self, app_id: int):
        """The 呆账核销申请表 (Annex 3) as a PDF attachment; the download is audited."""
        self._require(Action.DOWNLOAD)
        app = self._app(app_id)
        data = render_application_pdf(app)
        audit.record(
            db.session,
            AuditAction.DOWNLOAD,
            entity=RESOURCE,
            entity_id=app.id,
            detail=f"{app.app_no}.pdf",
        )
        db.session.commit()
        return attachment(data, f"呆账核销申请表-{app.app_no}.pdf", PDF)


def render_application_pdf(app: WriteOffApplication) -> bytes:
    """Annex 3 (呆账核销申请表) of ``app`` as PDF bytes (no side effects)."""
    from backoffice.services.pdf import render_pdf

    decisions = db.session.scalars(
        select(ApprovalDecision)
        .where(ApprovalDecision.application_id == app.id)
        .order_by(ApprovalDecision.round, ApprovalDecision.decided_at)
    ).all()
    return render_pdf(
        "writeoff_application.html",
        app=app,
        company=app.company,
        items=sorted(app.items, key=lambda i: i.receivable.doc_no),
        checklist=materials_checklist(app),
        decisions=decisions,
    )


def application_link_of_entry(view, context, model, name) -> Markup:
    """A recovery's cell naming the application of its recourse entry, linked."""
    entry = getattr(model, "entry", None)
    return application_link(view, context, entry, name) if entry is not None else Markup("")
