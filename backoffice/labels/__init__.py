"""Field labels: one English source string per attribute name, translated by Babel.

Every view builds its ``column_labels`` from this table, so a field is named the same on every
page, in exports and in PDFs. The table is kept in two parts: ``fields`` (the general one) and
``workflow`` (the later workflows by article); a later part wins on a shared name.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect

from backoffice.labels.fields import FIELD_LABELS
from backoffice.labels.workflow import CONFIRMATION_LABELS, WORKFLOW_LABELS

LABELS: dict[str, Any] = {**FIELD_LABELS, **WORKFLOW_LABELS, **CONFIRMATION_LABELS}

#: What a row of each table is, for documents that list records of several kinds (the archive
#: summary): one name per table, never the table name itself.
RECORD_LABELS: dict[str, Any] = {
    "api_idempotency": _l("API request replay guard"),
    "api_token": _l("API token"),
    "approval_decision": _l("Approval decision"),
    "audit_checkpoint": _l("Audit checkpoint"),
    "balance_confirmation_archive": _l("Balance confirmation archive package"),
    "balance_confirmation_file": _l("Balance confirmation file"),
    "balance_confirmation_line": _l("Balance confirmation line"),
    "balance_confirmation_link": _l("Balance confirmation link"),
    "balance_dispute_line": _l("Disputed line"),
    "case_cost": _l("Case cost"),
    "case_member": _l("Case member"),
    "case_receivable": _l("Receivable in the case"),
    "collateral": _l("Guarantee or collateral"),
    "collection_action": _l("Collection action"),
    "collection_case": _l("Collection case"),
    "customer_contact": _l("Customer contact"),
    "customer_mail_opt_out": _l("Customer kept off e-mail"),
    "document_requirement": _l("Required document"),
    "dunning_pause": _l("Dunning pause"),
    "evidence_document": _l("Evidence document"),
    "instalment": _l("Instalment"),
    "litigation": _l("Litigation"),
    "payment_in_kind": _l("Payment in kind"),
    "payment_promise": _l("Promise to pay"),
    "proposed_measure": _l("Proposed collection measure"),
    "repayment_plan": _l("Repayment plan"),
    # Audit entries of the schedulers' leader lock (jobs/leader.py): who took or lost it.
    "scheduler_lock": _l("Scheduler leader lock"),
    "scorecard_line": _l("Scorecard line"),
    "user_role": _l("User's role"),
    "user_sales_unit": _l("User's sales unit"),
    "writeoff_application": _l("Write-off application"),
    "writeoff_item": _l("Write-off item"),
}


def record_label(table: str) -> Any:
    """What a row of ``table`` is, in words (falls back to the field label machinery)."""
    return RECORD_LABELS.get(table) or label(table)


def label(name: str) -> Any:
    return LABELS.get(name) or _l(name.replace("_", " ").capitalize())


def column_labels_for(model: type) -> dict[str, Any]:
    """Labels for every column and relationship of ``model``."""
    return {attr.key: label(attr.key) for attr in inspect(model).attrs}
