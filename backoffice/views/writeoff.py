"""Write-off applications, approvals, recourse, accountability (SPEC §3.5, §3.7)."""

from __future__ import annotations

from backoffice.views.base import SecuredModelView
from backoffice.views.writeoff_flow import (
    WriteOffFlow,
    application_link,
    application_link_of_entry,
)


class WriteOffApplicationView(WriteOffFlow, SecuredModelView):
    """呆账核销申请: the list links each application's page (form, checklist, approval chain,
    filing, Annex 3 PDF; ``backoffice/views/writeoff_flow.py``)."""

    list_template = "admin/writeoff_list.html"
    # Art.18: an application is drafted with its receivables on the application form and
    # changes only on its own page (amend, submit, decide, file); the generic create, edit and
    # delete doors are shut (``backoffice.governance``).
    column_list = (
        "app_no",
        "customer",
        "sales_unit",
        "ground",
        "amount",
        "status",
        "current_step",
        "applicant",
        "created_at",
    )
    column_searchable_list = ("app_no",)
    column_filters = ("status", "ground", "current_step")


class WriteOffItemView(SecuredModelView):
    column_list = ("application", "receivable", "amount")


class ApprovalDecisionView(SecuredModelView):
    column_list = ("application", "round", "step", "decision", "comment", "user", "decided_at")
    column_filters = ("step", "decision")


class MaterialRequirementView(SecuredModelView):
    column_list = ("ground", "doc_type", "required")
    column_filters = ("ground",)


class RecourseEntryView(SecuredModelView):
    """备查簿 (Art.18): recoveries are booked from the application's page."""

    column_list = ("application", "customer", "written_off", "recovered", "opened_on")
    column_formatters = {"application": application_link}
    column_formatters_detail = {"application": application_link}


class RecoveryView(SecuredModelView):
    column_list = ("entry", "amount", "received_on", "note")
    column_formatters = {"entry": application_link_of_entry}


class TargetView(SecuredModelView):
    """清欠基数 (Art.29): proposed and approved on the assessment page (Art.28)."""

    column_list = ("period", "sales_unit", "user", "base_amount", "status", "approved_by", "note")
    column_filters = ("period", "status")
