"""The case lifecycle in the browser (SPEC §3.3): apply (Art.16 (4)), accept / refuse, start work
(Art.17), close with an outcome (Art.21), override the strategy (Art.23), and the small forms
that add a collection action, a promise to pay and a member to a case file.

The rules live in ``backoffice.services.cases``; ``today()`` and the shared helpers are read
through the ``casefile`` module, so a test that sets the date there sets it here too.
"""

from __future__ import annotations

from flask import abort, flash, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backoffice.extensions import db
from backoffice.models.case import (
    ActionKind,
    CaseMember,
    CaseOutcome,
    CaseStatus,
    CollectionAction,
    CollectionCase,
    PaymentPromise,
    Strategy,
)
from backoffice.models.customer import Customer
from backoffice.models.receivable import Receivable, ReceivableStatus
from backoffice.models.user import User
from backoffice.permissions import Action, scope_filter
from backoffice.services import cases
from backoffice.services.amounts import read_amount
from backoffice.views import casefile as page


class CaseWorkPages(page.CaseFilePages):
    """The POST endpoints that move a case through its lifecycle or add to its file."""

    @expose("/apply/", methods=("GET", "POST"))
    def apply_view(self):
        """Art.16 (4): a collector applies in writing for a customer's overdue debt (Annex 2).
        POST creates the case in status ``applied`` and opens the team lead's review task."""
        self._require(Action.APPLY)
        if request.method == "GET":
            return self._apply_page()
        customer = db.session.scalar(
            select(Customer)
            .where(Customer.id == request.form.get("customer_id", type=int))
            .where(scope_filter(Customer, current_user))
        )
        if customer is None:
            abort(404)
        reason = (request.form.get("reason") or "").strip()
        try:
            case = cases.apply(db.session, customer.id, current_user.id, reason, page.today())
            db.session.commit()
        except cases.CaseError as exc:
            return self._refused(None, f"apply customer={customer.id}", str(exc))
        except IntegrityError:
            # The one-open-case key caught a case opened meanwhile (an escalation run).
            message = _("this customer already has an open case")
            return self._refused(None, f"apply customer={customer.id}", message)
        flash(_("Application %(no)s submitted to the team lead.", no=case.case_no), "success")
        return self._back(case)

    def _apply_page(self, status: int = 200):
        # Customers in the user's scope with overdue open receivables and no open case.
        on = page.today()
        overdue = (
            select(Receivable.customer_id)
            .where(
                Receivable.status == ReceivableStatus.OPEN,
                Receivable.outstanding > 0,
                Receivable.due_date < on,
            )
            .distinct()
        )
        open_cases = select(CollectionCase.customer_id).where(CollectionCase.status.in_(cases.OPEN))
        customers = db.session.scalars(
            select(Customer)
            .where(scope_filter(Customer, current_user))
            .where(Customer.id.in_(overdue), Customer.id.not_in(open_cases))
            .order_by(Customer.name)
            .limit(500)
        ).all()
        return (
            self.render(
                "admin/case_apply.html",
                customers=customers,
                chosen=request.values.get("customer_id", type=int),
                reason=request.form.get("reason", ""),
            ),
            status,
        )

    @expose("/file/<int:case_id>/accept", methods=("POST",))
    def accept_view(self, case_id: int):
        """The team accepts an application: the case is filed with its notice and checklist."""
        self._require(Action.APPROVE)
        case = self._case(case_id)
        refused = self._run(
            case,
            "accept",
            CaseStatus.FILED,
            lambda: cases.accept(db.session, case, current_user.id, page.today()),
        )
        if refused is not None:
            return refused
        flash(_("Case %(no)s accepted and filed.", no=case.case_no), "success")
        return self._back(case)

    @expose("/file/<int:case_id>/refuse", methods=("POST",))
    def refuse_view(self, case_id: int):
        """The team refuses an application, with its reason; the unit keeps the debt."""
        self._require(Action.APPROVE)
        case = self._case(case_id)
        reason = (request.form.get("reason") or "").strip()
        refused = self._run(
            case,
            "refuse",
            CaseStatus.REFUSED,
            lambda: cases.refuse(db.session, case, current_user.id, reason),
        )
        if refused is not None:
            return refused
        flash(_("Application %(no)s refused.", no=case.case_no), "success")
        return self._back(case)

    @expose("/file/<int:case_id>/start", methods=("POST",))
    def start_view(self, case_id: int):
        """The documents are in (Art.17): collection work starts; with documents missing only
        with an override reason (``override_reason``), which the service records."""
        self._require(Action.EDIT)
        case = self._case(case_id)
        reason = request.form.get("override_reason") or None
        refused = self._run(
            case,
            "start",
            CaseStatus.IN_PROGRESS,
            lambda: cases.start_work(db.session, case, override_reason=reason),
        )
        if refused is not None:
            return refused
        flash(_("Work on case %(no)s started.", no=case.case_no), "success")
        return self._back(case)

    @expose("/file/<int:case_id>/close", methods=("POST",))
    def close_view(self, case_id: int):
        """Art.21: close with an outcome (collected in full, or hard to collect and why)."""
        self._require(Action.CLOSE)
        case = self._case(case_id)
        outcome = request.form.get("outcome") or None
        if outcome is not None and outcome not in {o.value for o in CaseOutcome}:
            return self._refused(case, "close", _("Choose an outcome from the list."), 400)
        note = request.form.get("note")
        refused = self._run(
            case,
            "close",
            CaseStatus.CLOSED if outcome else None,
            lambda: cases.close(db.session, case, current_user.id, outcome, note, page.today()),
        )
        if refused is not None:
            return refused
        flash(_("Case %(no)s closed.", no=case.case_no), "success")
        return self._back(case)

    @expose("/file/<int:case_id>/strategy", methods=("POST",))
    def strategy_view(self, case_id: int):
        """Art.23: override the suggested strategy, with a reason."""
        self._require(Action.EDIT)
        case = self._case(case_id)
        strategy = request.form.get("strategy") or ""
        if strategy not in {s.value for s in Strategy}:
            return self._refused(case, "strategy", _("Choose a strategy from the list."), 400)
        if case.status not in cases.OPEN:
            return self._refused(
                case, "strategy", _("A case that is %(now)s cannot change.", now=case.status.label)
            )
        reason = request.form.get("reason") or ""
        refused = self._run(
            case, "strategy", None, lambda: cases.override_strategy(case, strategy, reason)
        )
        if refused is not None:
            return refused
        flash(_("Strategy changed."), "success")
        return self._back(case)

    # -- parts of the case -------------------------------------------------------------------------

    @expose("/file/<int:case_id>/action", methods=("POST",))
    def add_action_view(self, case_id: int):
        """Record a collection action (date, person, result)."""
        case, refused = self._open_case_for(case_id, "collection_action", "add action")
        if refused is not None:
            return refused
        kind = request.form.get("kind") or ""
        on = page.parse_date(request.form.get("on")) or page.today()
        if kind not in {k.value for k in ActionKind}:
            return self._refused(case, "add action", _("Choose a kind of action."), 400)
        if on > page.today():
            return self._refused(case, "add action", _("The date cannot be in the future."), 400)
        db.session.add(
            CollectionAction(
                case_id=case.id,
                kind=ActionKind(kind),
                on=on,
                user_id=current_user.id,
                result=(request.form.get("result") or "").strip() or None,
            )
        )
        db.session.commit()
        flash(_("Collection action recorded."), "success")
        return self._back(case)

    @expose("/file/<int:case_id>/promise", methods=("POST",))
    def add_promise_view(self, case_id: int):
        """Record a promise to pay: the amount and the date it is due."""
        case, refused = self._open_case_for(case_id, "payment_promise", "add promise")
        if refused is not None:
            return refused
        try:  # the import's amount grammar and maximum (issue 10 items 13-14)
            amount = read_amount(request.form.get("amount"))
        except ValueError as exc:
            return self._refused(case, "add promise", str(exc), 400)
        if amount is None:
            return self._refused(case, "add promise", _("Enter an amount above zero."), 400)
        due = page.parse_date(request.form.get("due_on"))
        promised = page.parse_date(request.form.get("promised_on")) or page.today()
        if due is None or due < promised:
            return self._refused(
                case, "add promise", _("The due date must be on or after the promise."), 400
            )
        db.session.add(
            PaymentPromise(
                case_id=case.id,
                promised_on=promised,
                amount=amount,
                due_on=due,
                note=(request.form.get("note") or "").strip() or None,
            )
        )
        db.session.commit()
        flash(_("Promise to pay recorded."), "success")
        return self._back(case)

    @expose("/file/<int:case_id>/member", methods=("POST",))
    def add_member_view(self, case_id: int):
        """Add a member to the case's team (Art.6), once per person."""
        case, refused = self._open_case_for(case_id, "case_member", "add member")
        if refused is not None:
            return refused
        user = db.session.get(User, request.form.get("user_id", type=int) or 0)
        if user is None or not user.is_active or user.company_id not in (None, case.company_id):
            return self._refused(case, "add member", _("Choose a person."), 400)
        if any(m.user_id == user.id for m in case.members):
            return self._refused(
                case, "add member", _("%(name)s is already a member.", name=user.display_name)
            )
        duty = (request.form.get("duty") or "").strip()[:100] or None
        db.session.add(CaseMember(case_id=case.id, user_id=user.id, duty=duty))
        db.session.commit()
        flash(_("%(name)s added to the case.", name=user.display_name), "success")
        return self._back(case)
