"""Which records a workflow governs, and what Flask-Admin's generic doors may still write.

A record with a workflow (a state, an approval chain, a seal) changes only through its service's
rule, reached from its own page: a write-off application through ``services/writeoff.py``
(apply, amend, submit, decide, file), a case through ``services/cases.py``, and so on. Flask-
Admin's generic ``create_view``, ``edit_view``, ``ajax_update``, ``delete_view`` and bulk
``delete`` are doors around those rules (STYLE "Traps"), so ``SecuredModelView`` reads this
table for every view of a resource: a new view of a governed model cannot forget it, and
``tests/views/test_governance.py`` walks every registered view against it.

- ``WORKFLOWS``: resources with a workflow. Generic create redirects to ``create_flow`` (or is
  refused), generic edit and ``ajax_update`` write only ``editable`` (no rule governs those
  fields; none → refused), generic delete is refused unless the view's ``delete_model`` calls
  the service (``delete_via_service``).
- ``RULE_FIELDS``: resources without a workflow but with fields a rule maintains; no generic
  form carries them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backoffice.permissions import Action, can


@dataclass(frozen=True)
class Workflow:
    #: Where the rule lives (for the reader and the refusal message in the audit log).
    service: str
    #: Fields no rule governs: the only ones generic edit and ``ajax_update`` may write.
    editable: frozenset[str] = frozenset()
    #: The page that creates such rows; generic create redirects there (else it is refused).
    create_flow: str | None = None
    #: The view's ``delete_model`` runs the service's rule (e.g. the evidence soft delete).
    delete_via_service: bool = False


_CASE_FILE = "collection_case.index_view"  # parts of a case are added on its case file

WORKFLOWS: dict[str, Workflow] = {
    # Write-off (Art.18, 24–26): draft, amend, submit, the four-step chain, filing, recourse.
    "writeoff_application": Workflow(
        "services/writeoff.py", create_flow="writeoff_application.apply_view"
    ),
    "writeoff_item": Workflow("services/writeoff.py"),
    "approval_decision": Workflow("services/writeoff.py: decide"),
    "recourse_entry": Workflow("services/writeoff.py: file"),
    "recovery": Workflow("services/writeoff.py: record_recovery"),
    # Accountability (Art.7, 18, 20, 24-26): findings, parties, measures, holds, hand-overs.
    "accountability_finding": Workflow("services/accountability.py (Art.18, 24-26)"),
    "finding_party": Workflow("services/accountability.py: name_party"),
    "sanction": Workflow(
        "services/sanctions.py (Art.20)", create_flow="accountability_finding.index_view"
    ),
    "accountability_hold": Workflow("services/holds.py (Art.26)"),
    "hand_over": Workflow("services/handover.py (Art.7)", create_flow="hand_over.handover_view"),
    # Cases (Art.16-17, 21, 23): escalation or an accepted application, the lifecycle, closing,
    # the strategy override. Only the lead is assigned freely; the customer (and with it the
    # unit) never changes, the override goes through ``cases.override_strategy``.
    "collection_case": Workflow(
        "services/cases.py",
        editable=frozenset({"lead"}),
        create_flow="collection_case.apply_view",
    ),
    "payment_promise": Workflow("services/cases.py: judge_promises", create_flow=_CASE_FILE),
    # Repayment plans (Art.23): instalments add up to the plan, their paid amounts come from
    # the payments allocated; only the note is free.
    "repayment_plan": Workflow(
        "services/repayment.py", editable=frozenset({"note"}), create_flow=_CASE_FILE
    ),
    "instalment": Workflow("services/repayment.py"),
    # Collateral and payment in kind (Art.23 (2)): appraisal, preservation, title, realised.
    "collateral": Workflow(
        "services/assets.py", editable=frozenset({"guarantor"}), create_flow=_CASE_FILE
    ),
    "payment_in_kind": Workflow("services/assets.py", create_flow=_CASE_FILE),
    # Litigation (Art.10 (4)): proposed, approved by legal, filed; the judgment is free text.
    "litigation": Workflow(
        "services/litigation.py",
        editable=frozenset({"judgment", "judgment_on", "enforcement"}),
        create_flow=_CASE_FILE,
    ),
    # Requests for information (Art.19) and customers' targets and plans (Art.23 (2)).
    "information_request": Workflow(
        "services/information.py", create_flow="information_request.issue_view"
    ),
    "customer_collection_plan": Workflow("services/strategy.py", create_flow=_CASE_FILE),
    "watch_list_entry": Workflow("services/cases.py: escalate"),
    # Evidence (§3.4): uploaded with its hash, never overwritten, soft-deleted by the service.
    "evidence_document": Workflow(
        "services/evidence.py", create_flow=_CASE_FILE, delete_via_service=True
    ),
    # Monthly cycle (Art.13-15): issued by the run, answered and routed on their pages.
    "monthly_run": Workflow("services/monthly.py"),
    "monthly_report": Workflow("services/monthly.py"),
    "statement": Workflow("services/monthly.py"),
    "confirmation_form": Workflow("services/confirmation.py"),
    "confirmation_line": Workflow("services/confirmation.py"),
    "report_dispatch": Workflow("services/report_dispatch.py: send_report (Art.12)"),
    "customer_mail": Workflow("services/customer_mail.py: send_to_contacts, deliver (issue 14 §2)"),
    "confirmation_line_part": Workflow("services/confirmation_split.py: split_line (Art.15 (3))"),
    "case_submission": Workflow(
        "services/case_submissions.py: submit (Art.17)", create_flow="case_submission.index_view"
    ),
    "refusal_consequence": Workflow("services/refusals.py: record_consequence (Art.16 (4))"),
    # The debtor's balance confirmation (issue 15): made, sent and revoked on their page,
    # answered by the debtor through its link, disputes resolved through the service.
    "balance_confirmation_request": Workflow(
        "services/balance_confirm.py", create_flow="balance_confirmation_request.new_view"
    ),
    "balance_confirmation_line": Workflow("services/balance_confirm.py: create_request"),
    "balance_confirmation_access": Workflow("services/balance_confirm_answer.py"),
    "balance_dispute": Workflow("services/balance_dispute.py: resolve"),
    "balance_dispute_line": Workflow("services/balance_dispute.py: open_dispute"),
    "task": Workflow("jobs/reminders.py"),
    "notification": Workflow("services/notify.py"),
    # Ledger imports and payments' allocations, credit history.
    "import_batch": Workflow("services/importer/"),
    "payment_allocation": Workflow("services/payments.py"),
    "credit_event": Workflow("services/credit.py"),
    # Archive and audit (Art.22, §3.8): sealed by the year-end transfer, never edited.
    "archive_record": Workflow("services/archive.py"),
    "archive_item": Workflow("services/archive.py"),
    "audit_log": Workflow("services/audit.py"),
    "job_run": Workflow("jobs/__init__.py"),
    # Assessment (Art.27-30): bases proposed and approved, the policy, grades and scorecards
    # change on the assessment pages only; an approved one is locked.
    "target": Workflow(
        "services/assessment.py: propose_target, approve_target",
        create_flow="assessment.index",
    ),
    "assessment_policy": Workflow(
        "services/assessment.py: set_policy, approve_policy", create_flow="assessment.index"
    ),
    "debt_grade": Workflow("services/assessment.py: grade_case, override_grade"),
    "scorecard": Workflow("services/scorecard.py: compute, amend, approve"),
    "scorecard_line": Workflow("services/scorecard.py: compute, amend"),
}

RULE_FIELDS: dict[str, frozenset[str]] = {
    # Art.8: a bonus is booked from an approved scorecard only (``costs.check_manual``).
    "case_cost": frozenset({"scorecard_line", "scorecard_line_id"}),
    # Art.10: credit controls change on the credit page, each change with its reason.
    "customer": frozenset(
        {
            "credit_events",
            "credit_rating",
            "credit_limit",
            "shipment_hold",
            "shipment_hold_reason",
            "financial_status",
        }
    ),
    # The allocation and write-off services keep these (outstanding = amount - paid - written
    # off; the status follows them).
    "receivable": frozenset(
        {
            "paid_amount",
            "written_off_amount",
            "outstanding",
            "status",
            "settled_on",
            "writeoff_ref",
            "import_batch_id",
        }
    ),
    "payment": frozenset({"unallocated", "allocations", "import_batch_id"}),
    # Passwords go through ``accounts`` (strength, hashing, ending old sessions).
    "user": frozenset(
        {
            "password_hash",
            "session_version",
            "password_changed_at",
            "failed_logins",
            "locked_until",
            "last_login_at",
        }
    ),
}


def workflow_of(resource: str | None) -> Workflow | None:
    return WORKFLOWS.get(resource or "")


def governed_fields(resource: str | None, names: Any) -> frozenset[str]:
    """Of the field ``names`` of ``resource``'s model, those a rule governs."""
    names = frozenset(names)
    rule = workflow_of(resource)
    if rule is not None:
        return names - rule.editable
    return names & RULE_FIELDS.get(resource or "", frozenset())


def generic_can(user: Any, resource: str, action: Action | str) -> bool:
    """Whether ``user`` may take ``action`` through Flask-Admin's *generic* door of
    ``resource``: the permission table, narrowed by the resource's workflow. ``create`` on a
    workflow with a ``create_flow`` stands for that flow (the generic form redirects there)."""
    if not can(user, resource, action):
        return False
    rule = workflow_of(resource)
    if rule is None:
        return True
    if action == Action.CREATE:
        return rule.create_flow is not None
    if action == Action.EDIT:
        return bool(rule.editable)
    if action == Action.DELETE:
        return rule.delete_via_service
    return True
