"""Customers, credit history, contracts, receivables, payments, imports (SPEC §3.1)."""

from __future__ import annotations

from backoffice.views.base import SecuredModelView


class CustomerView(SecuredModelView):
    column_list = (
        "erp_code",
        "name",
        "company",
        "sales_unit",
        "credit_rating",
        "credit_limit",
        "shipment_hold",
        "financial_status",
    )
    column_searchable_list = ("erp_code", "name")
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
    form_excluded_columns = ("created_at", "updated_at", "credit_events")


class CreditEventView(SecuredModelView):
    column_list = ("at", "customer", "kind", "old_value", "new_value", "reason", "user")
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
    )
    column_searchable_list = ("number",)
    column_filters = ("penalty_kind", "signed_on")
    form_excluded_columns = ("created_at", "updated_at", "company", "sales_unit")
    form_ajax_refs = {"customer": {"fields": ("name", "erp_code"), "page_size": 20}}


class ReceivableView(SecuredModelView):
    column_list = (
        "doc_no",
        "customer",
        "sales_unit",
        "doc_type",
        "amount",
        "outstanding",
        "due_date",
        "status",
        "collector",
        "collector_name",
    )
    column_searchable_list = ("doc_no",)
    column_filters = ("status", "doc_type", "due_date", "sales_unit", "company")
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

    def on_model_change(self, form, model, is_created):
        # Outstanding follows the amount; payments adjust it through the allocation service.
        model.paid_amount = model.paid_amount or 0
        model.written_off_amount = model.written_off_amount or 0
        model.outstanding = model.amount - model.paid_amount - model.written_off_amount
        super().on_model_change(form, model, is_created)


class PaymentView(SecuredModelView):
    column_list = (
        "payment_no",
        "customer",
        "kind",
        "amount",
        "unallocated",
        "received_on",
        "doc_no_ref",
    )
    column_searchable_list = ("payment_no", "doc_no_ref")
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


class ColumnMappingView(SecuredModelView):
    column_list = ("kind", "header", "field")
    column_filters = ("kind",)
    column_searchable_list = ("header", "field")
