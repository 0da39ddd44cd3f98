"""The case file's forms for the rules made whole by issue 12 (SPEC §3.3):

- litigation (Art.10 (4)): propose; the legal department approves or rejects; filed only after;
- repayment plans: instalments that add up, due after the agreement (``services/repayment``);
- the customer's collection target and plan (Art.23 (2), ``services/strategy``);
- collateral and payment in kind: appraisal, preservation, transfer of title, each with a
  document of the case's evidence, then the value realised booked (``services/assets``);
- a request for information to a named unit or person (Art.19, ``services/information``).

Each endpoint checks the permission table and the case's scope, calls the service and commits,
or shows the service's refusal (audited, nothing changed) through ``CaseFilePages._run``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask import abort, flash, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.case import (
    AssetStage,
    Collateral,
    CollateralKind,
    CollectionCase,
    Litigation,
    LitigationStatus,
    PaymentInKind,
)
from backoffice.models.case_steps import InformationRequest
from backoffice.models.evidence import EvidenceDocument
from backoffice.models.org import SalesUnit
from backoffice.models.user import User
from backoffice.permissions import Action, can
from backoffice.services import assets, cases, information, litigation, repayment, strategy
from backoffice.services.amounts import read_amount
from backoffice.views import casefile as page

ASSETS = {"collateral": Collateral, "payment_in_kind": PaymentInKind}
STEPS = ("appraise", "preserve", "title", "realise")


def _amount(name: str) -> Decimal | None:
    """The form's amount, by the import's grammar; ``CaseError`` if it is not one."""
    try:
        return read_amount(request.form.get(name))
    except ValueError as exc:
        raise cases.CaseError(str(exc)) from exc


def parse_instalments(text: str) -> list[tuple[date, Decimal]]:
    """One instalment per line: its due date (YYYY-MM-DD) and amount, e.g. ``2027-01-15 5000``."""
    rows = []
    for n, line in enumerate((text or "").splitlines(), start=1):
        parts = line.replace("，", " ").replace(",", " ").split()
        if not parts:
            continue
        due = page.parse_date(parts[0])
        try:
            amount = read_amount(parts[1]) if len(parts) == 2 else None
        except ValueError:
            amount = None
        if due is None or amount is None:
            raise cases.CaseError(
                _("line %(n)s: write the due date and the amount, e.g. 2027-01-15 5000", n=n)
            )
        rows.append((due, amount))
    return rows


def rules_context(case: CollectionCase, on: date) -> dict[str, Any]:
    """What the case file shows and may do for these rules."""
    session = db.session
    user = current_user
    is_open = case.status in cases.OPEN and case.sealed_at is None
    target = strategy.current_plan(session, case.customer_id)
    documents = session.scalars(
        select(EvidenceDocument)
        .where(EvidenceDocument.case_id == case.id, EvidenceDocument.deleted_at.is_(None))
        .order_by(EvidenceDocument.id)
    ).all()
    may = {
        "propose": is_open and can(user, "litigation", Action.CREATE),
        "legal": is_open and can(user, "litigation", Action.APPROVE),
        "file_suit": is_open and can(user, "litigation", Action.FILE),
        "plan": is_open and can(user, "repayment_plan", Action.CREATE),
        "target": is_open and can(user, "customer_collection_plan", Action.CREATE),
        "collateral": is_open and can(user, "collateral", Action.CREATE),
        "in_kind": is_open and can(user, "payment_in_kind", Action.CREATE),
        "collateral_step": is_open and can(user, "collateral", Action.EDIT),
        "in_kind_step": is_open and can(user, "payment_in_kind", Action.EDIT),
        "realise": is_open and can(user, "collateral", Action.APPROVE),
        "ask": is_open and can(user, "information_request", Action.CREATE),
    }
    units = people = []
    if may["ask"]:
        units = session.scalars(
            select(SalesUnit)
            .where(SalesUnit.company_id == case.company_id)
            .order_by(SalesUnit.name)
        ).all()
        people = session.scalars(
            select(User).where(User.active.is_(True)).order_by(User.display_name).limit(300)
        ).all()
    return {
        "rules_may": may,
        "target": target,
        "target_progress": strategy.plan_progress(session, target) if target else None,
        "evidence_docs": documents,
        "requests": session.scalars(
            select(InformationRequest)
            .where(InformationRequest.case_id == case.id)
            .order_by(InformationRequest.issued_on, InformationRequest.id)
        ).all(),
        "units": units,
        "people": people,
        "collateral_kinds": list(CollateralKind),
        "LitigationStatus": LitigationStatus,
        "AssetStage": AssetStage,
    }


class CaseRulePages(page.CaseFilePages):
    """POST endpoints of the case file for litigation, plans, targets, assets and requests."""

    def _part(self, model, case: CollectionCase, part_id: int):
        part = db.session.get(model, part_id)
        if part is None or part.case_id != case.id:
            abort(404)
        return part

    def _done(self, case: CollectionCase, refused, message: str):
        if refused is not None:
            return refused
        flash(message, "success")
        return self._back(case)

    # -- Art.10 (4): litigation ------------------------------------------------------------------

    @expose("/file/<int:case_id>/litigation", methods=("POST",))
    def litigation_propose_view(self, case_id: int):
        """Propose a lawsuit (court, claim) for the legal department's approval."""
        case, refused = self._open_case_for(case_id, "litigation", "propose litigation")
        if refused is not None:
            return refused
        form = request.form
        refused = self._run(
            case,
            "propose litigation",
            None,
            lambda: litigation.propose(
                db.session,
                case,
                current_user.id,
                form.get("court"),
                form.get("claim"),
                page.today(),
            ),  # fmt: skip
        )
        return self._done(case, refused, _("Lawsuit proposed to the legal department."))

    @expose("/file/<int:case_id>/litigation/<int:lit_id>/decide", methods=("POST",))
    def litigation_decide_view(self, case_id: int, lit_id: int):
        """The legal department approves or rejects a proposed lawsuit."""
        self._require(Action.VIEW)
        self._require(Action.APPROVE, "litigation")
        case = self._case(case_id)
        lit = self._part(Litigation, case, lit_id)
        decision = request.form.get("decision")
        if decision not in ("approve", "reject"):
            return self._refused(case, "decide litigation", _("Approve or reject."), 400)
        note = request.form.get("note") or ""
        refused = self._run(
            case,
            "decide litigation",
            None,
            lambda: litigation.decide(
                db.session, lit, current_user.id, decision == "approve", note
            ),
        )
        return self._done(case, refused, _("Decision on the lawsuit recorded."))

    @expose("/file/<int:case_id>/litigation/<int:lit_id>/filed", methods=("POST",))
    def litigation_filed_view(self, case_id: int, lit_id: int):
        """Record an approved lawsuit as filed, with the court's case number."""
        self._require(Action.VIEW)
        self._require(Action.FILE, "litigation")
        case = self._case(case_id)
        lit = self._part(Litigation, case, lit_id)
        filed_on = page.parse_date(request.form.get("filed_on")) or page.today()
        if filed_on > page.today():
            return self._refused(case, "file litigation", _("The date cannot be in the future."))
        number = request.form.get("court_case_no") or ""
        refused = self._run(
            case,
            "file litigation",
            None,
            lambda: litigation.record_filed(db.session, lit, number, filed_on),
        )
        return self._done(case, refused, _("Lawsuit recorded as filed."))

    # -- repayment plans and the customer's target (Art.23) ------------------------------------

    @expose("/file/<int:case_id>/plan", methods=("POST",))
    def plan_create_view(self, case_id: int):
        """Record a repayment plan with its instalments (one per line: date and amount)."""
        case, refused = self._open_case_for(case_id, "repayment_plan", "add plan")
        if refused is not None:
            return refused
        form = request.form

        def create():
            rows = parse_instalments(form.get("instalments"))
            agreed = page.parse_date(form.get("agreed_on"))
            if agreed is None:
                raise cases.CaseError(_("Enter the date of the agreement."))
            repayment.create_plan(
                db.session, case, agreed, _amount("total"), rows, form.get("note"), page.today()
            )

        refused = self._run(case, "add plan", None, create)
        return self._done(case, refused, _("Repayment plan recorded."))

    @expose("/file/<int:case_id>/target", methods=("POST",))
    def target_view(self, case_id: int):
        """Art.23 (2): set the customer's collection target and plan."""
        case, refused = self._open_case_for(case_id, "customer_collection_plan", "set target")
        if refused is not None:
            return refused
        form = request.form
        refused = self._run(
            case,
            "set target",
            None,
            lambda: strategy.set_customer_plan(
                db.session,
                case.customer,
                current_user.id,
                reasons=form.get("reasons"),
                target_amount=_amount("target_amount"),
                target_date=page.parse_date(form.get("target_date")),
                measures=form.get("measures"),
                on=page.today(),
                case=case,
            ),
        )
        return self._done(case, refused, _("Collection target and plan recorded."))

    # -- collateral and payment in kind ------------------------------------------------------------

    @expose("/file/<int:case_id>/asset", methods=("POST",))
    def asset_add_view(self, case_id: int):
        """Register a guarantee or collateral, or an asset offered in payment."""
        kind = request.form.get("kind") or ""
        resource = "payment_in_kind" if kind == "in_kind" else "collateral"
        case, refused = self._open_case_for(case_id, resource, "add asset")
        if refused is not None:
            return refused
        text = (request.form.get("description") or "").strip()
        if not text:
            return self._refused(case, "add asset", _("Describe the asset."), 400)
        if resource == "payment_in_kind":
            db.session.add(PaymentInKind(case_id=case.id, asset=text))
        elif kind in {k.value for k in CollateralKind}:
            guarantor = (request.form.get("guarantor") or "").strip()[:200] or None
            db.session.add(
                Collateral(
                    case_id=case.id,
                    kind=CollateralKind(kind),
                    description=text,
                    guarantor=guarantor,
                )
            )
        else:
            return self._refused(case, "add asset", _("Choose a kind of asset."), 400)
        db.session.commit()
        flash(_("Asset registered."), "success")
        return self._back(case)

    @expose("/file/<int:case_id>/asset/<resource>/<int:asset_id>/<step>", methods=("POST",))
    def asset_step_view(self, case_id: int, resource: str, asset_id: int, step: str):
        """A step of an asset: appraise, preserve, transfer of title, or realise (booked)."""
        if resource not in ASSETS or step not in STEPS:
            abort(404)
        self._require(Action.VIEW)
        self._require(Action.APPROVE if step == "realise" else Action.EDIT, resource)
        case = self._case(case_id)
        asset = self._part(ASSETS[resource], case, asset_id)
        form, today = request.form, page.today()
        on = page.parse_date(form.get("on")) or today
        doc = form.get("document_id", type=int)

        def run():
            if step == "appraise":
                assets.appraise(db.session, asset, _amount("value"), on, doc, today)
            elif step == "preserve":
                assets.preserve(db.session, asset, form.get("measure"), on, doc, today)
            elif step == "title":
                assets.transfer_title(db.session, asset, on, doc, today)
            else:
                assets.realise(db.session, asset, _amount("value"), on, today)

        refused = self._run(case, f"asset {step}", None, run)
        return self._done(case, refused, _("Step recorded: %(stage)s.", stage=asset.stage.label))

    # -- Art.19: a request for information ---------------------------------------------------------

    @expose("/file/<int:case_id>/inforequest", methods=("POST",))
    def information_request_view(self, case_id: int):
        """Ask a named unit or person for information, by a deadline in working days."""
        case, refused = self._open_case_for(case_id, "information_request", "request information")
        if refused is not None:
            return refused
        form = request.form
        refused = self._run(
            case,
            "request information",
            None,
            lambda: information.issue(
                db.session,
                user_id=current_user.id,
                subject=form.get("subject"),
                question=form.get("question"),
                workdays=form.get("workdays", type=int) or 0,
                on=page.today(),
                case=case,
                unit_id=form.get("unit_id", type=int),
                addressee_user_id=form.get("user_id", type=int),
            ),
        )
        return self._done(case, refused, _("Request for information sent."))
