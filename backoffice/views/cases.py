"""Collection cases and their parts, watch list, evidence (SPEC §3.3–3.4)."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from backoffice.services.formatting import file_kind, file_size
from backoffice.views.base import SecuredModelView
from backoffice.views.casefile_letters import CaseLetterPages
from backoffice.views.casefile_rules import CaseRulePages
from backoffice.views.casefile_work import CaseWorkPages

CASE_REF = {"case": {"fields": ("case_no",), "page_size": 20}}


class CollectionCaseView(CaseWorkPages, CaseLetterPages, CaseRulePages, SecuredModelView):
    """The case list; each case number opens its case file (``views/casefile.py``)."""

    # Art.16: a case exists through escalation or an accepted application, never typed in;
    # its lifecycle, strategy override (Art.23) and customer follow their rules on the case
    # file. The generic form assigns the lead only (``backoffice.governance``).

    column_list = (
        "case_no",
        "customer",
        "sales_unit",
        # The origin (强制立案/申请立案) is a filter and on the details page: the list fits
        # a 1366-px laptop without it (issue 11).
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
    form_columns = ("lead",)
    form_ajax_refs = {"lead": {"fields": ("username", "display_name"), "page_size": 20}}


class CasePartRule:
    """Art.21: a part of a case changes only while the case is open (``case_parts``)."""

    def on_model_change(self, form, model, is_created):
        from backoffice.extensions import db
        from backoffice.services.case_parts import require_open

        require_open(db.session, model)
        super().on_model_change(form, model, is_created)

    def on_model_delete(self, model):
        from backoffice.extensions import db
        from backoffice.services.case_parts import require_open

        require_open(db.session, model)
        super().on_model_delete(model)


class CaseChildView(CasePartRule, SecuredModelView):
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
    # Made on the case file with its instalments (``services/repayment.py``); the generic
    # form edits the note only (``backoffice.governance``).
    column_list = ("case", "agreed_on", "total", "status", "broken_on", "note")
    column_filters = ("status", "agreed_on")
    form_excluded_columns = ("instalments",)


class InstalmentView(CasePartRule, SecuredModelView):
    # The paid amount comes from the payments allocated, never typed (``repayment``).
    column_list = ("plan", "seq", "due_on", "amount", "paid_amount", "late_notified_on")


ASSET_STEPS = (
    "stage",
    "appraisal_value",
    "appraised_on",
    "preserved_on",
    "title_transferred_on",
    "realised_value",
    "realised_on",
)


class CollateralView(CaseChildView):
    column_list = ("case", "kind", "description", "value", "guarantor", *ASSET_STEPS)
    column_filters = ("stage", "kind")


class PaymentInKindView(CaseChildView):
    column_list = ("case", "asset", *ASSET_STEPS)
    column_filters = ("stage",)


class LitigationView(CaseChildView):
    # Art.10 (4): proposed and approved on the case file; the generic form writes only the
    # judgment and enforcement (``backoffice.governance``).
    column_list = (
        "case",
        "court",
        "status",
        "proposed_by",
        "decided_by",
        "court_case_no",
        "filed_on",
        "judgment_on",
        "enforcement",
    )
    column_filters = ("status", "filed_on")


class CustomerCollectionPlanView(SecuredModelView):
    """Art.23 (2): each customer's target and plan, set on its case file."""

    column_list = (
        "customer",
        "case",
        "set_on",
        "target_amount",
        "target_date",
        "strategy",
        "reasons",
        "measures",
        "set_by",
    )
    column_filters = ("set_on", "target_date", "strategy")
    column_default_sort = ("set_on", True)


class CaseCostView(CaseChildView):
    """A case's costs; the unit-by-unit ledger is ``views/costs.py`` (Art.8)."""

    column_list = ("case", "sales_unit", "kind", "amount", "incurred_on", "note")
    form_excluded_columns = ("company", "sales_unit", "scorecard_line")

    def on_model_change(self, form, model, is_created):
        from backoffice.services.costs import check_manual

        check_manual(model)  # Art.8: bonuses come from an approved scorecard only
        super().on_model_change(form, model, is_created)

    def on_model_delete(self, model):
        from backoffice.services.costs import check_manual

        check_manual(model, deleting=True)
        super().on_model_delete(model)


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
    # Evidence is created only by uploading a file on a case's evidence page (SPEC §3.4): the
    # upload stores the bytes under a server-generated name and computes their SHA-256
    # (the generic form redirects there: ``backoffice.governance``).
    column_filters = ("doc_type", "uploaded_at")
    column_default_sort = ("uploaded_at", True)
    # Sizes read as B/KB/MB and types as PDF/Word/… (issue 11), as on the evidence page.
    column_labels = {"size": _l("Size"), "content_type": _l("File type")}
    column_formatters_detail = {
        "size": lambda v, c, m, n: file_size(m.size),
        "content_type": lambda v, c, m, n: file_kind(m.content_type),
    }
    # The name links to the verified download; the case to its evidence page (§3.4).
    column_formatters = {
        **column_formatters_detail,
        "original_name": lambda v, c, m, n: Markup('<a href="{}" download>{}</a>').format(
            url_for("evidence.download", doc_id=m.id), m.original_name
        ),
        "case": lambda v, c, m, n: (
            Markup('<a href="{}">{}</a>').format(
                url_for("evidence.owner_page", kind="case", owner_id=m.case_id), m.case.case_no
            )
            if m.case_id
            else ""
        ),
    }

    def delete_model(self, model) -> bool:
        """A soft delete: who and when are recorded; the row and the bytes are kept (§3.4)."""
        # self.session is the Flask-SQLAlchemy object (ModelView(Model, db)), not a session:
        # it has no commit(), so every delete was a 500. Use db.session.
        from backoffice.extensions import db
        from backoffice.services.evidence import soft_delete

        try:
            soft_delete(db.session, model, current_user)
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            if not self.handle_view_exception(exc):
                raise
            return False
        return True
