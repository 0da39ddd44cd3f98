"""Receivables, payments and their allocations (SPEC §3.1).

The receivables list shows aging (days, calendar months, bucket, debt class, penalty),
computed by the list query itself (``views.computed``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import case

from backoffice.extensions import db
from backoffice.services import aging, balance_dispute, ledger_rules, payments
from backoffice.services.aging import Bucket, DebtClass
from backoffice.services.formatting import format_money
from backoffice.views.base import SecuredModelView
from backoffice.views.computed import (
    AgingFilter,
    ComputedColumnsMixin,
    _label_formatter,
    _rules,
    built_once,
)
from backoffice.views.fastlist import FastListMixin
from backoffice.views.formatters import _money_formatter


def _outstanding_with_dispute(view, context, model, name):
    """The balance, and apart from it what the debtor disputes (issue 15: 争议中)."""
    money = _money_formatter(view, model.outstanding)
    disputed = getattr(model, "in_dispute", None)
    if not disputed:
        return money
    return Markup('{}<br><span class="badge badge-warning qq-in-dispute">{} {}</span>').format(
        money, _("In dispute"), format_money(disputed)
    )


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
        "in_dispute",
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
        "outstanding": _outstanding_with_dispute,
    }
    column_formatters_export = {
        "aging_bucket": _label_formatter(Bucket),
        "debt_class": _label_formatter(DebtClass),
    }
    # Any part of the document number (a trigram index) or of the customer's name; its ERP code.
    substring_search_columns = ("doc_no",)
    customer_prefix_search = True
    search_hint = _l("Any part of a document number or customer name, or an ERP code")
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
        today, rules = date.today(), _rules()

        def build() -> dict[str, Any]:
            cols = aging.aging_columns(today, rules)
            names = ("days_overdue", "months_overdue", "aging_bucket", "debt_class", "penalty")
            computed = {name: cols[name] for name in names}
            # A settled document is overdue by nothing: its days and months stay blank (its
            # bucket and class already are), rather than counting on from its due date.
            owing = aging._has_outstanding()
            for name, expr in (("days_overdue", aging.days_overdue_expr(today)),
                               ("months_overdue", aging.months_overdue_expr(today))):
                computed[name] = case((owing, expr), else_=None).label(name)
            # Issue 15: the amount the debtor disputes (争议中), shown apart from plain overdue.
            computed["in_dispute"] = balance_dispute.in_dispute_expr()
            return computed

        return built_once(("receivable", today, repr(rules)), build)

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
    substring_search_columns = ("payment_no", "doc_no_ref")
    search_hint = _l("Any part of a payment number or document number")
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
