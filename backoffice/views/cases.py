"""Collection cases and their parts, watch list, evidence (SPEC §3.3–3.4)."""

from __future__ import annotations

from backoffice.views.base import SecuredModelView

CASE_REF = {"case": {"fields": ("case_no",), "page_size": 20}}


class CollectionCaseView(SecuredModelView):
    column_list = (
        "case_no",
        "customer",
        "sales_unit",
        "origin",
        "status",
        "filed_on",
        "documents_due",
        "lead",
        "suggested_strategy",
        "closed_on",
    )
    column_searchable_list = ("case_no",)
    column_filters = ("status", "origin", "sales_unit", "filed_on", "closed_on")
    column_default_sort = ("id", True)
    form_columns = ("customer", "lead", "strategy_override", "override_reason")
    form_ajax_refs = {
        "customer": {"fields": ("name", "erp_code"), "page_size": 20},
        "lead": {"fields": ("username", "display_name"), "page_size": 20},
    }


class CaseChildView(SecuredModelView):
    form_ajax_refs = CASE_REF


class CaseMemberView(CaseChildView):
    column_list = ("case", "user", "duty")


class CollectionActionView(CaseChildView):
    column_list = ("case", "on", "kind", "user", "result")
    column_filters = ("kind", "on")
    column_default_sort = ("on", True)


class PaymentPromiseView(CaseChildView):
    column_list = ("case", "promised_on", "amount", "due_on", "status")
    column_filters = ("status",)


class RepaymentPlanView(CaseChildView):
    column_list = ("case", "agreed_on", "total", "note")
    form_excluded_columns = ("instalments",)


class InstalmentView(SecuredModelView):
    column_list = ("plan", "seq", "due_on", "amount", "paid_amount")


class CollateralView(CaseChildView):
    column_list = ("case", "kind", "description", "value", "guarantor")


class PaymentInKindView(CaseChildView):
    column_list = ("case", "asset", "appraisal_value", "appraised_on", "title_transferred_on")


class LitigationView(CaseChildView):
    column_list = ("case", "court", "court_case_no", "filed_on", "judgment_on", "enforcement")


class CaseCostView(CaseChildView):
    column_list = ("case", "kind", "amount", "incurred_on", "note")
    form_excluded_columns = ("company", "sales_unit")


class DocumentRequirementView(CaseChildView):
    column_list = ("case", "doc_type", "due_on", "document_id")


class WatchListEntryView(SecuredModelView):
    column_list = (
        "as_of",
        "customer",
        "sales_unit",
        "overdue_amount",
        "oldest_due_date",
        "reported_at",
    )
    column_default_sort = ("as_of", True)


class EvidenceDocumentView(SecuredModelView):
    column_list = (
        "original_name",
        "doc_type",
        "case",
        "writeoff",
        "size",
        "content_type",
        "uploaded_by",
        "uploaded_at",
        "deleted_at",
    )
    column_details_exclude_list = ("storage_key",)
    column_searchable_list = ("original_name", "sha256")
    column_filters = ("doc_type", "uploaded_at")
    column_default_sort = ("uploaded_at", True)
