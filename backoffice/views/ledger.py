"""Customers, credit history, contracts, imports (SPEC §3.1); receivables and payments are in
``views.receivables``.

The customers list shows credit flags, computed by the list query itself
(``ComputedColumnsMixin``), so a page costs the same statements whatever its size.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask import flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.model.template import EndpointLinkRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.validators import Optional as OptionalValidator

from backoffice.extensions import db
from backoffice.governance import RULE_FIELDS
from backoffice.models.customer import CreditEvent, CreditRating, FinancialStatus
from backoffice.permissions import Action
from backoffice.services import credit, ledger_rules
from backoffice.services.amounts import read_amount
from backoffice.views.base import SecuredModelView, deny
from backoffice.views.computed import ComputedColumnsMixin, built_once
from backoffice.views.customer_mail import CustomerMailPages
from backoffice.views.customer_timeline import CustomerTimelinePages
from backoffice.views.fastlist import FastListMixin

# The receivables and payments views moved to their own module; the menu still finds them here.
from backoffice.views.receivables import (  # noqa: F401
    PaymentAllocationView,
    PaymentView,
    ReceivableView,
)


class CreditForm(FlaskForm):
    """Art.10 (3), Art.15, Art.23: the credit controls of one customer, changed with a reason."""

    credit_rating = SelectField(
        _l("Credit rating"),
        choices=[SelectChoice("", "—")] + [SelectChoice(m.value, m.label) for m in CreditRating],
        validators=[OptionalValidator()],
    )
    credit_limit = StringField(_l("Credit limit"), validators=[OptionalValidator()])
    shipment = SelectField(
        _l("Shipment hold"),
        choices=[
            SelectChoice("keep", _l("Unchanged")),
            SelectChoice("hold", _l("Hold")),
            SelectChoice("release", _l("Release")),
        ],
    )
    financial_status = SelectField(
        _l("Financial status"),
        choices=[SelectChoice(m.value, m.label) for m in FinancialStatus],
    )
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


def _credit_flags(view, context, model, name):
    """Art.10, 15: over the credit limit, and overdue past the credit age, as two badges."""
    flags = []
    if getattr(model, "over_limit", None):
        flags.append(_("Over limit"))
    if getattr(model, "overdue_flag", None):
        flags.append(_("Overdue past limit age"))
    return Markup(" ").join(
        Markup('<span class="badge badge-warning">{}</span>').format(f) for f in flags
    )


class CustomerView(
    CustomerTimelinePages, CustomerMailPages, FastListMixin, ComputedColumnsMixin, SecuredModelView
):
    # What credit control and collectors read at a glance on a 1366-px laptop (issue 11): the
    # company is on 详情, in the filters and the export; both credit flags share one column.
    column_list = (
        "erp_code",
        "name",
        "sales_unit",
        "credit_rating",
        "credit_limit",
        "exposure",
        "credit_flags",
        "shipment_hold",
        "financial_status",
    )
    column_export_list = (
        "erp_code",
        "name",
        "company",
        "sales_unit",
        "credit_rating",
        "credit_limit",
        "exposure",
        "over_limit",
        "overdue_flag",
        "shipment_hold",
        "financial_status",
    )
    column_labels = {
        "exposure": _l("Exposure"),
        "credit_flags": _l("Credit alerts"),
        "over_limit": _l("Over limit"),
        "overdue_flag": _l("Overdue past limit age"),
    }
    column_formatters = {"credit_flags": _credit_flags}
    column_formatters_export = {  # a flag: 是/否 in the file
        "over_limit": lambda v, c, m, n: bool(getattr(m, n, None)),
        "overdue_flag": lambda v, c, m, n: bool(getattr(m, n, None)),
    }
    prefix_search_columns = ("erp_code",)
    contains_search_columns = ("name",)
    search_hint = _l("Customer name (any part) or ERP code")
    column_filters = (
        "company",
        "sales_unit",
        "credit_rating",
        "shipment_hold",
        "financial_status",
        "from_import",
    )
    column_sortable_list = ("erp_code", "name", "credit_limit")
    column_default_sort = ("id", True)
    # Credit controls change only on the credit page, so each change keeps its reason (Art.10):
    # the governance table names them once.
    form_excluded_columns = ("created_at", "updated_at", *sorted(RULE_FIELDS["customer"]))

    def on_model_change(self, form, model, is_created):
        ledger_rules.check_customer_move(db.session, model)  # Art.16, 21
        super().on_model_change(form, model, is_created)

    def get_list_row_actions(self):
        actions = list(super().get_list_row_actions())
        if self.allowed(Action.CREDIT):
            actions.append(
                EndpointLinkRowAction("fa fa-credit-card", ".credit_view", title=_l("Credit"))
            )
        return actions

    def computed_columns(self) -> dict[str, Any]:
        days = g.get("qq_flag_days")
        if days is None:
            days = g.qq_flag_days = credit.flag_overdue_days(db.session)
        today = date.today()
        return built_once(
            ("customer", today, days), lambda: credit.customer_flag_columns(today, days)
        )

    @expose("/credit/<int:id>/", methods=("GET", "POST"))
    def credit_view(self, id: int):
        """One customer's credit controls: rating, limit, hold, financial status, history."""
        if not self.allowed(Action.CREDIT):
            return deny(self.resource, Action.CREDIT)
        customer = self.get_one(str(id))
        form = CreditForm(
            data={
                "credit_rating": customer.credit_rating.value if customer.credit_rating else "",
                "credit_limit": "" if customer.credit_limit is None else str(customer.credit_limit),
                "financial_status": customer.financial_status.value,
            }
        )
        if request.method == "POST":
            form = CreditForm()
        if request.method == "POST" and form.validate_on_submit():
            try:
                limit = self._parse_limit(form.credit_limit.data)
                reason, uid = form.reason.data, current_user.id
                rating = CreditRating(form.credit_rating.data) if form.credit_rating.data else None
                changes = [
                    credit.set_rating(db.session, customer, rating, reason, uid),
                    credit.set_limit(db.session, customer, limit, reason, uid),
                    credit.set_financial_status(
                        db.session,
                        customer,
                        FinancialStatus(form.financial_status.data),
                        reason,
                        uid,
                    ),
                ]
                if form.shipment.data == "hold":
                    changes.append(credit.hold_shipments(db.session, customer, reason, uid))
                elif form.shipment.data == "release":
                    changes.append(credit.release_shipments(db.session, customer, reason, uid))
            except ValueError as exc:
                db.session.rollback()
                flash(str(exc), "error")
            else:
                db.session.commit()
                done = sum(1 for c in changes if c is not None)
                flash(_("%(n)s credit change(s) recorded.", n=done), "success")
                return redirect(url_for(".credit_view", id=customer.id))
        status = credit.credit_status(db.session, customer)
        history = db.session.scalars(
            db.select(CreditEvent)
            .where(CreditEvent.customer_id == customer.id)
            .order_by(CreditEvent.at.desc(), CreditEvent.id.desc())
            .limit(100)
        ).all()
        return self.render(
            "admin/customer_credit.html",
            customer=customer,
            form=form,
            status=status,
            history=history,
            shown=credit.shown_value,
            flag_days=credit.flag_overdue_days(db.session),
        )

    @staticmethod
    def _parse_limit(text: str | None) -> Decimal | None:
        # The import's amount grammar: "1,2,3" or "1E30" is refused, not read as a number.
        return read_amount(text, allow_zero=True)


def _credit_value(view, context, model, name):
    return credit.shown_value(model.kind, getattr(model, name))


class CreditEventView(SecuredModelView):
    column_list = ("at", "customer", "kind", "old_value", "new_value", "reason", "user")
    column_formatters = {"old_value": _credit_value, "new_value": _credit_value}
    column_formatters_detail = column_formatters
    column_formatters_export = column_formatters
    column_filters = ("kind",)
    column_default_sort = ("at", True)
    form_ajax_refs = {"customer": {"fields": ("name", "erp_code")}}


class ContractView(SecuredModelView):
    column_list = (
        "number",
        "customer",
        "signed_on",
        "payment_terms_days",
        "penalty_kind",
        "penalty_daily_rate",
        "penalty_fixed",
        "interest_kind",  # Art.3: each charge has its own terms
        "damages_kind",
    )
    column_searchable_list = ("number",)
    column_filters = ("penalty_kind", "signed_on")
    form_excluded_columns = ("created_at", "updated_at", "company", "sales_unit")
    form_ajax_refs = {"customer": {"fields": ("name", "erp_code"), "page_size": 20}}


class ImportBatchView(SecuredModelView):
    column_list = (
        "created_at",
        "kind",
        "filename",
        "status",
        "dry_run",
        "rows_total",
        "rows_created",
        "rows_updated",
        "rows_unchanged",
        "rows_error",
        "user",
    )
    column_filters = ("kind", "status")
    column_default_sort = ("created_at", True)
    # The stored report is the importer's JSON; people read it on the import's result page.
    column_formatters_detail = {
        "report": lambda v, c, m, n: Markup('<a href="{}">{}</a>').format(
            url_for("imports.result", batch_id=m.id), _("Result page")
        ),
    }


class ColumnMappingView(SecuredModelView):
    column_list = ("kind", "header", "field")
    column_filters = ("kind",)
    column_searchable_list = ("header", "field")
