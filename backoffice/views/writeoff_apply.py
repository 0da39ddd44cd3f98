"""The write-off application form (Annex 3): customer, case, receivables and amounts,
ground and facts (呆账核销, Art.18; SPEC §3.5)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.case import CollectionCase
from backoffice.models.customer import Customer
from backoffice.models.receivable import Receivable, ReceivableStatus
from backoffice.models.writeoff import (
    WriteOffGround,
)
from backoffice.permissions import Action, scope_filter
from backoffice.services import audit
from backoffice.services import writeoff as wo
from backoffice.services.amounts import read_amount
from backoffice.services.audit import SealedError
from backoffice.services.transitions import StaleStateError
from backoffice.views.writeoff_page import MAX_CUSTOMERS_SHOWN, RESOURCE, _today


class WriteOffApply:
    """The application form; mixed into ``WriteOffFlow`` with ``WriteOffPage``."""

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
