"""The case file (案件档案) and the lifecycle of a collection case in the browser (SPEC §3.3).

Mixed into ``CollectionCaseView`` (``backoffice/views/cases.py``) with the lifecycle endpoints
(``casefile_work.py``) and the letters (``casefile_letters.py``):

- ``/admin/collection_case/file/<id>``: one page per case with everything on a timeline —
  receivables and what is still open, members, collection actions, promises to pay (judged
  from the payments that arrived), repayment plans (late instalments flagged), guarantees and
  collateral, payment in kind, litigation, costs (Art.8), the suggested strategy and any
  override (Art.23), the Art.17 checklist, the evidence documents and the filing notice.
- POST endpoints for the lifecycle: apply (Art.16 (4)), accept / refuse, start work, close
  with an outcome (Art.21), override the strategy (Art.23); small forms to add a collection
  action, a promise to pay and a member; demand letter and lawyer's letter PDFs.

The rules live in ``backoffice.services.cases``; these endpoints check the permission table
and the row scope (a case outside the user's scope answers 404), call the service, and turn a
``CaseError`` into a clear message, an audit entry (``REFUSED``) and an unchanged database.
Every POST carries the CSRF token (Flask-WTF's global ``CSRFProtect``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import abort, flash, redirect, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import or_, select

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.base import SHANGHAI, local_today
from backoffice.models.case import (
    ActionKind,
    CaseCost,
    CaseMember,
    CaseOutcome,
    CaseReceivable,
    CaseStatus,
    Collateral,
    CollectionAction,
    CollectionCase,
    Litigation,
    PaymentInKind,
    PaymentPromise,
    RepaymentPlan,
    Strategy,
)
from backoffice.models.evidence import DocumentType, EvidenceDocument
from backoffice.models.receivable import Receivable
from backoffice.models.user import User
from backoffice.permissions import Action, can, scope_filter
from backoffice.services import assets, audit, cases, repayment
from backoffice.services.audit import SealedError
from backoffice.services.formatting import format_money, local_datetime
from backoffice.services.transitions import StaleStateError
from backoffice.views.base import deny

RESOURCE = "collection_case"
PDF = "application/pdf"
LETTER_DAYS = 15  # default deadline of a demand or lawyer's letter, in calendar days
#: The letters the case file can generate (template, action kind recorded, file name).
LETTERS = {
    "demand": ("demand_letter.html", ActionKind.DEMAND_LETTER, "催款函"),
    "lawyer": ("lawyer_letter.html", ActionKind.LAWYER_LETTER, "律师函"),
}


today = local_today


def case_file_link(view, context, model: CollectionCase, name) -> Markup:
    """The list/details cell: the case number, linking to its case file."""
    return Markup('<a href="{}">{}</a>').format(
        url_for("collection_case.file_view", case_id=model.id), model.case_no
    )


def _endpoint_exists(endpoint: str) -> bool:
    from flask import current_app

    return endpoint in current_app.view_functions


@dataclass
class Event:
    """One line of the case file's timeline."""

    on: date
    kind: str
    text: str
    css: str = ""
    note: str = ""  # who recorded it and when (Beijing time), where the trail says


def _as_date(value: date | datetime | None) -> date | None:
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).date()
    return value


class CaseFilePages:
    """The case file page and the lifecycle endpoints of ``CollectionCaseView``."""

    list_template = "admin/case_list.html"
    column_formatters = {"case_no": case_file_link}
    column_formatters_detail = {"case_no": case_file_link}

    # -- helpers -------------------------------------------------------------------------------

    def _require(self, action: Action, resource: str = RESOURCE) -> None:
        if not can(current_user, resource, action):
            deny(resource, action)

    def _case(self, case_id: int) -> CollectionCase:
        case = db.session.scalar(
            select(CollectionCase)
            .where(CollectionCase.id == case_id)
            .where(scope_filter(CollectionCase, current_user))
        )
        if case is None:
            abort(404)  # outside the user's scope, as if it did not exist
        return case

    def _back(self, case: CollectionCase):
        return redirect(url_for(".file_view", case_id=case.id), code=303)

    def _refused(self, case: CollectionCase | None, op: str, message: str, status: int = 409):
        """Roll back, audit the refusal, and show the page again with the message."""
        db.session.rollback()
        audit.record_now(
            AuditAction.REFUSED,
            entity=RESOURCE,
            entity_id=case.id if case else None,
            detail=f"{op}: {message}"[:500],
        )
        flash(_("Refused: %(reason)s", reason=message), "error")
        if case is None:
            return self._apply_page(status=status)
        return self._file_page(self._case(case.id), status=status)

    def _run(self, case: CollectionCase, op: str, target: CaseStatus | None, fn: Callable):
        """Call the service; commit on success, refuse (unchanged, audited) on ``CaseError``."""
        if case.sealed_at is not None:
            return self._refused(case, op, _("This case is archived and sealed."))
        before = case.status
        try:
            fn()
            db.session.commit()
        except cases.CaseError as exc:
            if target is not None and target not in cases.TRANSITIONS[before]:
                message = _(
                    "A case that is %(now)s cannot become %(to)s.",
                    now=before.label,
                    to=target.label,
                )
            else:
                message = str(exc)  # already translated by the service (gettext)
            return self._refused(case, op, message)
        except (SealedError, StaleStateError) as exc:
            return self._refused(case, op, str(exc))
        return None

    # -- the case file ---------------------------------------------------------------------------

    def _open_case_for(self, case_id: int, resource: str, op: str):
        """The case, if ``resource`` may be created by the user and the case is open."""
        self._require(Action.VIEW)
        self._require(Action.CREATE, resource)
        case = self._case(case_id)
        if case.status not in cases.OPEN or case.sealed_at is not None:
            return case, self._refused(
                case, op, _("A case that is %(now)s cannot change.", now=case.status.label)
            )
        return case, None

    @expose("/file/<int:case_id>")
    def file_view(self, case_id: int):
        """The case file. Judges pending promises to pay against the payments that arrived
        (``cases.judge_promises``) and commits the result; everything else is read-only."""
        self._require(Action.VIEW)
        case = self._case(case_id)
        if case.sealed_at is None and case.status is not CaseStatus.REFUSED:
            try:
                cases.judge_promises(db.session, case, today())
                repayment.refresh_case(db.session, case)  # paid amounts from payments
                db.session.commit()
            except SealedError:
                db.session.rollback()
        return self._file_page(case)

    def _file_page(self, case: CollectionCase, status: int = 200):
        from backoffice.views.casefile_rules import rules_context

        on = today()
        session = db.session
        receivables = session.scalars(
            select(Receivable)
            .join(CaseReceivable, CaseReceivable.receivable_id == Receivable.id)
            .where(CaseReceivable.case_id == case.id)
            .order_by(Receivable.due_date, Receivable.id)
        ).all()

        def rows(model, *order):
            return session.scalars(select(model).where(model.case_id == case.id).order_by(*order))

        members = rows(CaseMember, CaseMember.id).all()
        actions = rows(CollectionAction, CollectionAction.on, CollectionAction.id).all()
        promises = rows(PaymentPromise, PaymentPromise.promised_on, PaymentPromise.id).all()
        plans = rows(RepaymentPlan, RepaymentPlan.agreed_on, RepaymentPlan.id).all()
        collaterals = rows(Collateral, Collateral.id).all()
        in_kind = rows(PaymentInKind, PaymentInKind.id).all()
        litigations = rows(Litigation, Litigation.id).all()
        costs = rows(CaseCost, CaseCost.incurred_on, CaseCost.id).all()
        documents = session.scalars(
            select(EvidenceDocument)
            .where(EvidenceDocument.case_id == case.id)
            .where(scope_filter(EvidenceDocument, current_user))
            .order_by(EvidenceDocument.uploaded_at, EvidenceDocument.id)
        ).all()
        late = {i.id for i in cases.late_instalments(session, case, on)}
        checklist = [
            {
                "req": req,
                "have": have,
                "missed": not have and req.due_on is not None and req.due_on < on,
            }
            for req, have in cases.checklist(session, case)
        ]
        missing = cases.missing_documents(session, case)  # Art.17: the start asks why
        open_total = cases.open_balance(session, case)
        cost_total = sum((c.amount for c in costs), Decimal(0))
        may = {
            "approve": case.status is CaseStatus.APPLIED and can(current_user, RESOURCE, "approve"),
            "start": case.status is CaseStatus.DOCUMENTS_REQUESTED
            and can(current_user, RESOURCE, "edit"),
            "close": case.status is CaseStatus.IN_PROGRESS and can(current_user, RESOURCE, "close"),
            "strategy": case.status in cases.OPEN and can(current_user, RESOURCE, "edit"),
            "action": case.status in cases.OPEN
            and can(current_user, "collection_action", "create"),
            "promise": case.status in cases.OPEN and can(current_user, "payment_promise", "create"),
            "member": case.status in cases.OPEN and can(current_user, "case_member", "create"),
            "evidence": can(current_user, "evidence_document", "view"),
        }
        may["letters"] = may["action"] and case.status is not CaseStatus.APPLIED
        candidates = []
        if may["member"]:
            candidates = session.scalars(
                select(User)
                .where(User.active.is_(True))
                .where(or_(User.company_id.is_(None), User.company_id == case.company_id))
                .order_by(User.display_name)
                .limit(300)
            ).all()
        timeline = self._timeline(case, actions, promises, plans, late, [*collaterals, *in_kind],
                                  litigations, costs, documents)  # fmt: skip
        return (
            self.render(
                "admin/case_file.html",
                case=case,
                customer=case.customer,
                receivables=receivables,
                open_total=open_total,
                members=members,
                actions=actions,
                promises=promises,
                plans=plans,
                late=late,
                collaterals=collaterals,
                in_kind=in_kind,
                litigations=litigations,
                costs=costs,
                cost_total=cost_total,
                checklist=checklist,
                missing=missing,
                doc_type_label=lambda value: DocumentType(value).label,
                documents=documents,
                timeline=timeline,
                may=may,
                candidates=candidates,
                strategies=list(Strategy),
                outcomes=list(CaseOutcome),
                action_kinds=list(ActionKind),
                today=on,
                letter_deadline=on + timedelta(days=LETTER_DAYS),
                **rules_context(case, on),
                download_endpoint=(
                    "evidence.download" if _endpoint_exists("evidence.download") else None
                ),
                evidence_page=(
                    url_for("evidence.owner_page", kind="case", owner_id=case.id)
                    if _endpoint_exists("evidence.owner_page") and may["evidence"]
                    else None
                ),
            ),
            status,
        )

    def _timeline(
        self, case, actions, promises, plans, late, held, litigations, costs, documents
    ) -> list[Event]:
        """Every dated event of the case, oldest first."""
        ev: list[Event] = []

        def add(on, kind, text, css="", note=""):
            on = _as_date(on)
            if on is not None:
                ev.append(Event(on, str(kind), str(text), css, str(note)))

        if case.applied_at:
            add(case.applied_at, _("Application"), case.application_reason or "")
        if case.decided_at and case.status is CaseStatus.REFUSED:
            add(case.decided_at, _("Refused"), case.refusal_reason or "", "text-danger")
        elif case.decided_at:
            add(case.decided_at, _("Accepted"), "")
        if case.filed_on:
            add(case.filed_on, _("Filed"), case.origin.label)
        if case.documents_due:
            add(case.documents_due, _("Documents due (Art.17)"), "")
        if case.started_at and case.start_override_reason:
            add(case.started_at, _("Work started with documents missing (Art.17)"),
                case.start_override_reason, "text-danger")  # fmt: skip
        elif case.started_at:
            add(case.started_at, _("Work started"), "")
        for a in actions:
            who = a.user.display_name if a.user else ""
            add(a.on, a.kind.label, f"{who}：{a.result or ''}" if who else a.result or "")
        for p in promises:
            css = {"kept": "text-success", "broken": "text-danger"}.get(p.status.value, "")
            add(
                p.promised_on,
                _("Promise to pay"),
                _(
                    "%(amount)s by %(due)s — %(status)s",
                    amount=format_money(p.amount),
                    due=p.due_on,
                    status=p.status.label,
                ),  # fmt: skip
                css,
            )
        for plan in plans:
            add(plan.agreed_on, _("Repayment plan"), format_money(plan.total))
            for i in plan.instalments:
                add(
                    i.due_on,
                    _("Instalment %(n)s due", n=i.seq),
                    f"{format_money(i.amount)} / {format_money(i.paid_amount)}",
                    "text-danger" if i.id in late else "",
                )
        # Art.23 (2)(3): collateral and payment in kind, step by step, with who recorded each
        for step in assets.step_events(db.session, held):
            text = " ".join(x for x in (step.what, step.detail) if x)
            if step.document is not None:
                text += _("; document: %(name)s", name=step.document.original_name)
            note = ""
            if step.recorded_at is not None:
                note = _(
                    "Recorded by %(who)s at %(at)s (Beijing time)",
                    who=step.recorded_by,
                    at=local_datetime(step.recorded_at),
                )
            add(step.on, step.name, text, note=note)
        for lit in litigations:
            add(lit.proposed_on, _("Lawsuit proposed"), f"{lit.court} {lit.claim or ''}")
            add(lit.decided_at, lit.status.label if lit.status.value == "rejected"
                else _("Approved by legal"), lit.decision_note or "")  # fmt: skip
            add(lit.filed_on, _("Lawsuit filed"), f"{lit.court} {lit.court_case_no or ''}")
            add(lit.judgment_on, _("Judgment"), lit.judgment or "")
        for c in costs:
            add(c.incurred_on, _("Cost"), f"{c.kind.label} {format_money(c.amount)}")
        for d in documents:
            add(d.uploaded_at, _("Document"), f"{d.doc_type.label}：{d.original_name}")
        if case.closed_on:
            add(case.closed_on, _("Closed"), case.outcome.label if case.outcome else "")
        ev.sort(key=lambda e: e.on)
        return ev

    # -- lifecycle -------------------------------------------------------------------------------


def parse_date(value: Any) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None
