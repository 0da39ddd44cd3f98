"""Menus per role (issue 11): each role's navigation shows the lists it works with every day.

The permission table (``backoffice.permissions``) decides what a role may open; this table only
decides what its menu shows. Everything else a role may open stays one click away on the
"All records" page (``views/data_index.py``), grouped by area, so an auditor, who may read every
table, still finds each one without a menu of forty entries.
"""

from __future__ import annotations

from typing import Any

from backoffice.models.user import RoleName

_LEDGER = ("receivable", "customer", "payment")
_INBOX = ("task", "notification")

#: role → the registry endpoints in its menu (in the registry's order and categories).
ROLE_MENUS: dict[RoleName, frozenset[str]] = {
    RoleName.COLLECTOR: frozenset(
        {
            *_LEDGER,
            *_INBOX,
            "confirmation_form",
            "statement",
            "collection_case",
            "payment_promise",
            "repayment_plan",
            "information_request",
            "writeoff_application",
            "case_submission",
            "customer_mail",
            "balance_dispute",
        }
    ),
    RoleName.FINANCE: frozenset(
        {
            *_LEDGER,
            *_INBOX,
            "import_batch",
            "monthly_run",
            "monthly_report",
            "confirmation_form",
            "statement",
            "writeoff_application",
            "recourse_entry",
            "case_cost",
            "accountability_finding",
            "report_dispatch",
            "customer_mail",
            "balance_confirmation_request",
            "balance_dispute",
        }
    ),
    RoleName.CREDIT: frozenset(
        {
            *_LEDGER,
            *_INBOX,
            "credit_event",
            "watch_list_entry",
            "collection_case",
            "writeoff_application",
            "recourse_entry",
            "accountability_finding",
            "accountability_hold",
        }
    ),
    RoleName.LEGAL: frozenset(
        {
            "customer",
            *_INBOX,
            "collection_case",
            "litigation",
            "collateral",
            "payment_in_kind",
            "information_request",
            "evidence_document",
            "writeoff_application",
            "accountability_finding",
        }
    ),
    RoleName.TEAM_LEAD: frozenset(
        {
            *_LEDGER,
            *_INBOX,
            "monthly_report",
            "confirmation_form",
            "collection_case",
            "watch_list_entry",
            "information_request",
            "customer_collection_plan",
            "writeoff_application",
            "accountability_finding",
            "sanction",
            "case_submission",
            "refusal_consequence",
            # Art.28-30: bases proposed and scorecards computed (grades: on the assessment page)
            "target",
            "scorecard",
        }
    ),
    RoleName.LEADER: frozenset(
        {
            "receivable",
            "customer",
            *_INBOX,
            "monthly_report",
            "collection_case",
            "writeoff_application",
            "accountability_finding",
            "sanction",
            # Art.28: the leadership group sets the policy and approves bases and results
            "target",
            "accountability_hold",
            "hand_over",
            "refusal_consequence",
            "assessment_policy",
            "scorecard",
        }
    ),
    RoleName.AUDITOR: frozenset(
        {
            "receivable",
            "customer",
            *_INBOX,
            "statement",
            "confirmation_form",
            "collection_case",
            "evidence_document",
            "writeoff_application",
            "recourse_entry",
            "accountability_finding",
            "archive_record",
            "audit_log",
            "accountability_hold",
            "customer_mail",
            "balance_confirmation_request",
            "balance_dispute",
        }
    ),
    RoleName.ADMIN: frozenset(
        {
            *_LEDGER,
            *_INBOX,
            "import_batch",
            "column_mapping",
            "monthly_run",
            "collection_case",
            "writeoff_application",
            "audit_log",
            "company",
            "sales_unit",
            "user",
            "role",
            "calendar_year",
            "setting",
            "job_run",
        }
    ),
}


def in_menu(user: Any, endpoint: str) -> bool:
    """Whether ``endpoint`` is in the menu of any of ``user``'s roles."""
    names = getattr(user, "role_names", frozenset())
    return any(endpoint in ROLE_MENUS.get(RoleName(name), ()) for name in names)
