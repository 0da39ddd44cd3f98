"""Customers, credit history, contracts, receivables, payments, imports (SPEC §3.1).

The receivables list shows aging (days, calendar months, bucket, debt class, penalty) and the
customers list shows credit flags; both are computed by the list query itself
(``ComputedColumnsMixin``), so a page costs the same statements whatever its size.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask import flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_admin.model.template import EndpointLinkRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import false
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.validators import Optional as OptionalValidator

from backoffice.extensions import db
from backoffice.governance import RULE_FIELDS
from backoffice.memo import per_request
from backoffice.models.customer import CreditEvent, CreditRating, FinancialStatus
from backoffice.models.receivable import Receivable
from backoffice.permissions import Action
from backoffice.services import aging, credit, ledger_rules, payments
from backoffice.services.aging import Bucket, DebtClass
from backoffice.services.amounts import read_amount
from backoffice.views.base import SecuredModelView, deny
from backoffice.views.fastlist import FastListMixin


def _rules() -> aging.DebtClassRules:
    """The debt-class rules, read once per request."""
    if "qq_debt_rules" not in g:
        g.qq_debt_rules = aging.debt_class_rules(db.session)
    return g.qq_debt_rules


class ComputedColumnsMixin:
    """Adds SQL-computed values to the rows of a list (and its exports).

    ``computed_columns()`` names SQL expressions over the view's model; they are selected by
    the same statement as the page, and each value is set on its row object under that name.
    """

    def computed_columns(self) -> dict[str, Any]:
        raise NotImplementedError

    def request_computed_columns(self) -> dict[str, Any]:
        """``computed_columns()``, built once per request: the page query and the query of its
        rows (``FastListMixin``) share them, where each used to build its own (issue 13)."""
        return per_request(("computed_columns", self.endpoint), self.computed_columns)

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        count, query = super().get_list(  # type: ignore[misc]
            page, sort_column, sort_desc, search, filters, execute=False, page_size=page_size
        )
        columns = self.request_computed_columns()
        query = query.add_columns(*columns.values())
        if not execute:
            return count, query
        rows = []
        for row in query.all():
            obj = row[0]
            for name, value in zip(columns, row[1:], strict=True):
                setattr(obj, name, value)
            rows.append(obj)
        return count, rows


def _label_formatter(enum_cls):
    def fmt(view, context, model, name):
        value = getattr(model, name, None)
        return "" if value is None else str(enum_cls(value).label)

    return fmt


class AgingFilter(BaseSQLAFilter):
    """Filter receivables by an aging expression as of today (bucket or debt class)."""

    def __init__(self, name, enum_cls, kind: str):
        super().__init__(Receivable.due_date, name, options=enum_cls.choices())
        self.kind = kind

    def apply(self, query, value, alias=None):
        as_of = date.today()
        try:
            if self.kind == "bucket":
                return query.filter(aging.bucket_criterion(as_of, value))
            return query.filter(aging.debt_class_criterion(as_of, value, _rules()))
        except (KeyError, ValueError):
            return query.filter(false())

    def operation(self):
        return _l("equals")


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


class CustomerView(FastListMixin, ComputedColumnsMixin, SecuredModelView):
    column_list = (
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
        "over_limit": _l("Over limit"),
        "overdue_flag": _l("Overdue past limit age"),
    }
    column_formatters = {
        "over_limit": lambda v, c, m, n: _("Over limit") if getattr(m, n, None) else "",
        "overdue_flag": lambda v, c, m, n: _("Overdue") if getattr(m, n, None) else "",
    }
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
        return credit.customer_flag_columns(date.today(), days)

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


class ReceivableView(FastListMixin, ComputedColumnsMixin, SecuredModelView):
    # What a collector or clerk reads at a glance on a 1366-px laptop (issue 11); the rest is
    # on 详情 and in the export.
    column_list = (
        "doc_no",
        "customer",
        "sales_unit",
        "amount",
        "outstanding",
        "due_date",
        "days_overdue",
        "aging_bucket",
        "debt_class",
        "collector",
    )
    column_export_list = (
        "doc_no",
        "customer",
        "sales_unit",
        "doc_type",
        "amount",
        "outstanding",
        "due_date",
        "days_overdue",
        "months_overdue",
        "aging_bucket",
        "debt_class",
        "penalty",
        "status",
        "collector",
        "collector_name",
    )
    column_labels = {
        "days_overdue": _l("Days overdue"),
        "months_overdue": _l("Months overdue"),
        "aging_bucket": _l("Aging bucket"),
        "debt_class": _l("Debt class"),
        "penalty": _l("Penalty / interest"),
    }
    column_formatters = {
        "aging_bucket": _label_formatter(Bucket),
        "debt_class": _label_formatter(DebtClass),
    }
    column_formatters_export = {
        "aging_bucket": _label_formatter(Bucket),
        "debt_class": _label_formatter(DebtClass),
    }
    # Exact-or-prefix on the document number; any part of the customer's name; its ERP code.
    prefix_search_columns = ("doc_no",)
    customer_prefix_search = True
    search_hint = _l("Document number (start), customer name (any part) or ERP code")
    column_filters = (
        "status",
        "doc_type",
        "due_date",
        "sales_unit",
        "company",
        AgingFilter(_l("Aging bucket"), Bucket, "bucket"),
        AgingFilter(_l("Debt class"), DebtClass, "class"),
    )
    column_sortable_list = ("doc_no", "amount", "outstanding", "due_date")
    column_default_sort = ("due_date", True)
    form_excluded_columns = (
        "created_at",
        "updated_at",
        "paid_amount",
        "written_off_amount",
        "outstanding",
        "status",
        "settled_on",
        "import_batch_id",
        "writeoff_ref",
    )
    form_ajax_refs = {
        "customer": {"fields": ("name", "erp_code"), "page_size": 20},
        "contract": {"fields": ("number",), "page_size": 20},
        "collector": {"fields": ("username", "display_name"), "page_size": 20},
        "follow_up_clerk": {"fields": ("username", "display_name"), "page_size": 20},
    }

    def computed_columns(self) -> dict[str, Any]:
        """Aging as of today, selected by the page query itself (SPEC §3.1, Art.3)."""
        cols = aging.aging_columns(date.today(), _rules())
        return {
            name: cols[name]
            for name in ("days_overdue", "months_overdue", "aging_bucket", "debt_class", "penalty")
        }

    def on_model_change(self, form, model, is_created):
        if not is_created:
            ledger_rules.check_receivable_edit(model)  # Art.18: written off is final
        # Outstanding follows the amount; payments adjust it through the allocation service.
        model.paid_amount = model.paid_amount or 0
        model.written_off_amount = model.written_off_amount or 0
        model.outstanding = model.amount - model.paid_amount - model.written_off_amount
        super().on_model_change(form, model, is_created)

    def on_model_delete(self, model):
        ledger_rules.check_receivable_delete(model)  # Art.18: written off is final
        super().on_model_delete(model)

    def after_model_change(self, form, model, is_created):
        # A changed amount may free money; a new receivable takes up unallocated money.
        payments.recompute_receivable(db.session, model)
        payments.apply_unallocated(db.session, model.customer_id)
        db.session.commit()


class PaymentView(FastListMixin, SecuredModelView):
    column_list = (
        "payment_no",
        "customer",
        "kind",
        "amount",
        "unallocated",
        "received_on",
        "doc_no_ref",
    )
    prefix_search_columns = ("payment_no", "doc_no_ref")
    search_hint = _l("Payment number or document number (start)")
    column_filters = ("kind", "received_on")
    column_default_sort = ("received_on", True)
    form_excluded_columns = (
        "created_at",
        "updated_at",
        "unallocated",
        "allocations",
        "import_batch_id",
        "company",
        "sales_unit",
    )
    form_ajax_refs = {"customer": {"fields": ("name", "erp_code"), "page_size": 20}}

    def after_model_change(self, form, model, is_created):
        # Apply the payment at once; an edited payment is re-applied from scratch.
        if not is_created:
            payments.reverse(db.session, model)
        payments.allocate(db.session, model)
        db.session.commit()

    def on_model_delete(self, model):
        payments.reverse(db.session, model)
        super().on_model_delete(model)


class PaymentAllocationView(SecuredModelView):
    column_list = ("payment", "receivable", "amount")


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
