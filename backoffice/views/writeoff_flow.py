"""Browser side of the bad-debt write-off (呆账核销, Art.18; SPEC §3.5).

Mixed into ``WriteOffApplicationView`` (``backoffice/views/writeoff.py``):

- the application form (Annex 3): customer, optionally its case, the receivables and amounts,
  the ground and the facts;
- the application page: the Annex 6 checklist of its ground (materials in or missing, upload
  links to the evidence pages), the missing-materials reason and committed date, finance's
  opinion, submission (and amendment and resubmission after a rejection);
- the approval chain team review → division VP → CFO → president: approve or reject with a
  comment, always through ``writeoff.decide``, so a skipped step, self-approval or a second
  decision is refused by the server whatever the browser sends;
- filing by the president's office (credit) and finance, then the recourse ledger (备查簿) with
  its recoveries and the accountability finding (Art.24–26);
- the Annex 3 PDF (呆账核销申请表).

The rules live in ``backoffice.services.writeoff``; these pages collect input, call it, and show
its ``WriteOffError`` messages. Every refusal is audited (``AuditAction.REFUSED``). Every
endpoint checks the permission table and the row scope (outside it: 404); every POST carries
the CSRF token (Flask-WTF's global ``CSRFProtect``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import or_, select

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.base import SHANGHAI
from backoffice.models.case import CollectionCase
from backoffice.models.customer import Customer
from backoffice.models.evidence import DocumentType, EvidenceDocument
from backoffice.models.receivable import Receivable, ReceivableStatus
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
from backoffice.services import accountability, audit
from backoffice.services import writeoff as wo
from backoffice.services.amounts import read_amount
from backoffice.services.audit import SealedError
from backoffice.services.transitions import StaleStateError, claim
from backoffice.views.base import attachment, deny

RESOURCE = "writeoff_application"
PDF = "application/pdf"
MAX_CUSTOMERS_SHOWN = 50


def _today() -> date:
    return datetime.now(SHANGHAI).date()


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


class WriteOffFlow:
    """Application form, application page, decisions, filing, recourse, accountability, PDF."""

    column_formatters = {"app_no": app_no_link}
    column_formatters_detail = {"app_no": app_no_link}

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

    # -- the application form (Annex 3) -------------------------------------------------------

    @expose("/apply/", methods=("GET", "POST"))
    def apply_view(self):
        """GET: choose the customer (searched within the user's scope), then its case, the
        receivables and amounts, the ground and the facts. POST: draft the application
        (``writeoff.create``) and go to its page. Side effect: one draft per valid POST."""
        self._require(Action.CREATE)
        customer_id = request.values.get("customer_id", type=int)
        customer = None
        if customer_id is not None:
            customer = db.session.scalar(
                select(Customer)
                .where(Customer.id == customer_id)
                .where(scope_filter(Customer, current_user))
            )
            if customer is None:
                abort(404)
        if request.method == "POST":
            if customer is None:
                flash(_("Choose the customer."), "error")
                return self._apply_page(None, status=400)
            return self._create(customer)
        return self._apply_page(customer)

    def _apply_page(self, customer, status: int = 200, values: dict | None = None):
        term = (request.args.get("q") or "").strip()
        customers: list[Customer] = []
        if customer is None:
            query = select(Customer).where(scope_filter(Customer, current_user))
            if term:
                like = f"%{term}%"
                query = query.where(or_(Customer.name.ilike(like), Customer.erp_code.ilike(like)))
            customers = db.session.scalars(
                query.order_by(Customer.name).limit(MAX_CUSTOMERS_SHOWN)
            ).all()
        receivables, cases = [], []
        if customer is not None:
            receivables = db.session.scalars(
                select(Receivable)
                .where(
                    Receivable.customer_id == customer.id,
                    Receivable.status == ReceivableStatus.OPEN,
                    Receivable.outstanding > 0,
                )
                .where(scope_filter(Receivable, current_user))
                .order_by(Receivable.due_date, Receivable.id)
            ).all()
            cases = db.session.scalars(
                select(CollectionCase)
                .where(CollectionCase.customer_id == customer.id)
                .where(scope_filter(CollectionCase, current_user))
                .order_by(CollectionCase.id.desc())
            ).all()
        return (
            self.render(
                "admin/writeoff_apply.html",
                customer=customer,
                customers=customers,
                term=term,
                receivables=receivables,
                cases=cases,
                grounds=list(WriteOffGround),
                values=values or {},
            ),
            status,
        )

    def _create(self, customer: Customer):
        form = request.form
        chosen = [int(v) for v in form.getlist("receivable") if v.isdigit()]
        values = {
            "receivable": set(chosen),
            "amounts": {k: v for k, v in form.items() if k.startswith("amount.")},
            "ground": form.get("ground", ""),
            "facts": form.get("facts", ""),
            "case_id": form.get("case_id", ""),
        }
        try:
            items = []
            for rid in chosen:
                try:  # the import's amount grammar: "1,2,3" or "1E30" is refused, not read
                    amount = read_amount(form.get(f"amount.{rid}"))
                except ValueError as exc:
                    raise wo.WriteOffError(str(exc)) from exc
                if amount is None:
                    raise wo.WriteOffError(_("Enter a valid amount for each receivable."))
                items.append((rid, amount))
            try:
                ground = WriteOffGround(values["ground"])
            except ValueError as exc:
                raise wo.WriteOffError(_("Choose the ground of the write-off.")) from exc
            case_id = form.get("case_id", type=int)
            if case_id is not None:
                case = db.session.scalar(
                    select(CollectionCase)
                    .where(CollectionCase.id == case_id, CollectionCase.customer_id == customer.id)
                    .where(scope_filter(CollectionCase, current_user))
                )
                if case is None:
                    raise wo.WriteOffError(_("The case does not belong to this customer."))
            # Scope: only receivables the user may see (the service checks the customer).
            visible = set(
                db.session.scalars(
                    select(Receivable.id)
                    .where(Receivable.id.in_(chosen or [0]))
                    .where(scope_filter(Receivable, current_user))
                )
            )
            if set(chosen) - visible:
                abort(404)
            app = wo.create(
                db.session,
                applicant=current_user,
                customer_id=customer.id,
                case_id=case_id,
                ground=ground,
                items=items,
                facts=values["facts"],
                on=_today(),
            )
            db.session.commit()
        except (wo.WriteOffError, SealedError, StaleStateError) as exc:
            db.session.rollback()
            audit.record_now(AuditAction.REFUSED, entity=RESOURCE, detail=f"create: {exc}")
            flash(str(exc), "error")
            return self._apply_page(customer, status=400, values=values)
        flash(_("Application %(no)s drafted.", no=app.app_no), "success")
        return redirect(url_for(".application_view", app_id=app.id), code=303)

    # -- the application page -----------------------------------------------------------------

    @expose("/app/<int:app_id>/")
    def application_view(self, app_id: int):
        """The application: checklist, materials, opinion, decisions and the forms this user
        may use. Read only; no side effects."""
        self._require(Action.VIEW)
        return self._page(self._app(app_id))

    @expose("/app/<int:app_id>/amend", methods=("POST",))
    def amend_view(self, app_id: int):
        """The applicant amends a draft or a returned application: facts, ground, amounts,
        the reason materials are missing and the committed date (Art.18)."""
        self._require(Action.EDIT)
        app = self._app(app_id)
        try:
            # Compare-and-set: an amendment racing the submission loses (409), not lands.
            claim(db.session, app, "status", "round")
            if app.status not in wo.EDITABLE:
                raise wo.WriteOffError(_("Only a draft or a returned application can be amended."))
            if current_user.id != app.applicant_id:
                raise wo.WriteOffError(_("Only the applicant amends the application."))
            form = request.form
            facts = (form.get("facts") or "").strip()
            if not facts:
                raise wo.WriteOffError(_("State the facts and the responsibility (Art.18)."))
            try:
                ground = WriteOffGround(form.get("ground", ""))
            except ValueError as exc:
                raise wo.WriteOffError(_("Choose the ground of the write-off.")) from exc
            for item in app.items:
                raw = form.get(f"amount.{item.id}")
                if raw is None:
                    continue
                try:
                    amount = read_amount(raw)
                except ValueError as exc:
                    raise wo.WriteOffError(str(exc)) from exc
                if amount is None:
                    raise wo.WriteOffError(_("Enter a valid amount for each receivable."))
                if amount > item.receivable.outstanding:  # read_amount refused zero and below
                    raise wo.WriteOffError(
                        _(
                            "%(doc)s: the amount must be between 0 and the outstanding %(max)s",
                            doc=item.receivable.doc_no,
                            max=item.receivable.outstanding,
                        )
                    )
                item.amount = amount
            due_raw = (form.get("materials_due_on") or "").strip()
            try:
                due = date.fromisoformat(due_raw) if due_raw else None
            except ValueError as exc:
                raise wo.WriteOffError(_("Enter the committed date as YYYY-MM-DD.")) from exc
            app.facts, app.ground = facts, ground
            app.amount = sum((i.amount for i in app.items), Decimal(0))
            app.materials_missing_reason = (form.get("materials_missing_reason") or "").strip()
            app.materials_due_on = due
            db.session.commit()
        except (wo.WriteOffError, SealedError, StaleStateError) as exc:
            return self._refuse(app, "amend", exc, status=400)
        flash(_("Application saved."), "success")
        return redirect(url_for(".application_view", app_id=app.id), code=303)

    @expose("/app/<int:app_id>/opinion", methods=("POST",))
    def opinion_view(self, app_id: int):
        """Finance gives its opinion (Art.18: needed before an application with missing
        materials goes on). Overwrites an earlier opinion while the application is editable."""
        self._require(Action.OPINION)
        app = self._app(app_id)
        try:
            if app.status not in wo.EDITABLE:
                raise wo.WriteOffError(
                    _("The opinion is given before the application is submitted.")
                )
            wo.give_finance_opinion(app, current_user, request.form.get("opinion", ""))
            db.session.commit()
        except (wo.WriteOffError, SealedError, StaleStateError) as exc:
            return self._refuse(app, "opinion", exc, status=400)
        flash(_("Finance's opinion recorded."), "success")
        return redirect(url_for(".application_view", app_id=app.id), code=303)

    @expose("/app/<int:app_id>/submit", methods=("POST",))
    def submit_view(self, app_id: int):
        """The applicant sends the application (again, after a rejection) into the chain;
        the team reviewers are notified (by the service)."""
        self._require(Action.EDIT)
        app = self._app(app_id)
        try:
            wo.submit(db.session, app, current_user, _today())
            db.session.commit()
        except (wo.WriteOffError, SealedError, StaleStateError) as exc:
            return self._refuse(app, "submit", exc)
        flash(_("Application %(no)s submitted for approval.", no=app.app_no), "success")
        return redirect(url_for(".application_view", app_id=app.id), code=303)

    # -- approval chain (Art.18) ----------------------------------------------------------------

    @expose("/app/<int:app_id>/decide", methods=("POST",))
    def decide_view(self, app_id: int):
        """Approve or reject the step named in the form, with a comment. Every rule (order of
        steps, no self-approval, one decision per person per round, the approver's scope) is
        checked by ``writeoff.decide``; a refusal changes nothing and is audited."""
        self._require(Action.APPROVE)
        app = self._app(app_id)
        try:
            wo.decide(
                db.session,
                app,
                current_user,
                request.form.get("step", ""),
                request.form.get("decision", ""),
                request.form.get("comment", ""),
            )
            db.session.commit()
        except ValueError as exc:  # WriteOffError, or an unknown step/decision value
            return self._refuse(app, "decide", exc)
        flash(_("Decision recorded."), "success")
        return redirect(url_for(".application_view", app_id=app.id), code=303)

    # -- filing, recourse, accountability ------------------------------------------------------

    @expose("/app/<int:app_id>/file", methods=("POST",))
    def file_view(self, app_id: int):
        """The president's office (credit) or finance (with the accounting reference) files
        the approved application; the second filing writes the receivables off, opens the
        recourse entry and the accountability finding, and seals the application."""
        self._require(Action.FILE)
        app = self._app(app_id)
        try:
            done = wo.file(
                db.session, app, current_user, _today(), request.form.get("accounting_ref")
            )
            db.session.commit()
        except (wo.WriteOffError, SealedError, StaleStateError) as exc:
            return self._refuse(app, "file", exc)
        if done:
            flash(_("Filed: the receivables are written off and the record is sealed."), "success")
        else:
            flash(_("Filed; waiting for the other filing office."), "success")
        return redirect(url_for(".application_view", app_id=app.id), code=303)

    @expose("/app/<int:app_id>/recovery", methods=("POST",))
    def recovery_view(self, app_id: int):
        """Finance books money recovered on the written-off debt against its recourse entry
        (Art.18). Side effect: one recovery per valid POST."""
        self._require(Action.CREATE, "recovery")
        app = self._app(app_id)
        entry = db.session.scalar(
            select(RecourseEntry).where(RecourseEntry.application_id == app.id)
        )
        if entry is None:
            abort(404)
        try:
            try:
                amount = read_amount(request.form.get("amount"))
            except ValueError as exc:
                raise wo.WriteOffError(str(exc)) from exc
            if amount is None:
                raise wo.WriteOffError(_("Enter a valid amount."))
            try:
                received_on = date.fromisoformat(request.form.get("received_on") or "")
            except ValueError as exc:
                raise wo.WriteOffError(_("Enter the date received as YYYY-MM-DD.")) from exc
            wo.record_recovery(
                db.session, entry, amount, received_on, (request.form.get("note") or None)
            )
            db.session.commit()
        except (wo.WriteOffError, SealedError, StaleStateError) as exc:
            return self._refuse(app, "recovery", exc, status=400)
        flash(_("Recovery booked."), "success")
        return redirect(url_for(".application_view", app_id=app.id) + "#recourse", code=303)

    @expose("/app/<int:app_id>/accountability", methods=("POST",))
    def accountability_view(self, app_id: int):
        """The team records the accountability finding (Art.24–26): individual or unit
        responsibility, the people named, the finding; ``completed`` closes it."""
        self._require(Action.EDIT, "accountability_finding")
        app = self._app(app_id)
        finding = db.session.scalar(
            select(AccountabilityFinding).where(AccountabilityFinding.application_id == app.id)
        )
        if finding is None:
            abort(404)
        form = request.form
        try:
            accountability.record_finding(
                db.session,
                finding,
                kind=form.get("kind"),
                people=form.get("people"),
                text=form.get("finding"),
                completed=form.get("completed") == "1",
            )
            db.session.commit()
        except (wo.WriteOffError, SealedError, StaleStateError) as exc:
            return self._refuse(app, "accountability", exc, status=400)
        flash(_("Accountability finding saved."), "success")
        return redirect(url_for(".application_view", app_id=app.id) + "#accountability", code=303)

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
