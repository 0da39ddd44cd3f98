"""Every list view of the admin, its model, menu name, category and endpoint (``REGISTRY``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from backoffice import models as m
from backoffice.views import (
    accountability,
    assessment_lists,
    balance_confirm,
    balance_dispute,
    case_rules,
    cases,
    confirmation_split,
    customer_mail,
    cycle,
    holds,
    information,
    jobs,
    ledger,
    org,
    records,
    writeoff,
)


@dataclass(frozen=True)
class Entry:
    view: type
    model: type
    name: Any
    category: Any
    endpoint: str


LEDGER, CYCLE, CASES, WRITEOFF, ASSESSMENT, ARCHIVE, SYSTEM = (
    _l("Ledger"),
    _l("Monthly cycle"),
    _l("Cases"),
    _l("Write-off"),
    _l("Assessment"),
    _l("Archive"),
    _l("System"),
)
ACCOUNTABILITY = _l("Accountability")

REGISTRY: list[Entry] = [
    Entry(ledger.ReceivableView, m.Receivable, _l("Receivables"), LEDGER, "receivable"),
    Entry(ledger.PaymentView, m.Payment, _l("Payments"), LEDGER, "payment"),
    Entry(
        ledger.PaymentAllocationView,
        m.PaymentAllocation,
        _l("Payment allocations"),
        LEDGER,
        "payment_allocation",
    ),
    Entry(ledger.CustomerView, m.Customer, _l("Customers"), LEDGER, "customer"),
    Entry(ledger.CreditEventView, m.CreditEvent, _l("Credit history"), LEDGER, "credit_event"),
    Entry(ledger.ContractView, m.Contract, _l("Contracts"), LEDGER, "contract"),
    Entry(ledger.ImportBatchView, m.ImportBatch, _l("Imports"), LEDGER, "import_batch"),
    Entry(
        ledger.ColumnMappingView,
        m.ColumnMapping,
        _l("Import column mapping"),
        LEDGER,
        "column_mapping",
    ),
    Entry(cycle.MonthlyRunView, m.MonthlyRun, _l("Monthly runs"), CYCLE, "monthly_run"),
    Entry(
        cycle.MonthlyReportView,
        m.MonthlyReport,
        _l("Monthly overdue reports"),
        CYCLE,
        "monthly_report",
    ),
    Entry(
        cycle.ConfirmationFormView,
        m.ConfirmationForm,
        _l("Confirmation forms"),
        CYCLE,
        "confirmation_form",
    ),
    Entry(
        cycle.ConfirmationLineView,
        m.ConfirmationLine,
        _l("Confirmation lines"),
        CYCLE,
        "confirmation_line",
    ),
    Entry(cycle.StatementView, m.Statement, _l("Statements of account"), CYCLE, "statement"),
    Entry(
        confirmation_split.ReportDispatchView,
        m.ReportDispatch,
        _l("Report sendings"),
        CYCLE,
        "report_dispatch",
    ),
    Entry(
        customer_mail.CustomerMailView,
        m.CustomerMail,
        _l("Customer e-mail log"),
        CYCLE,
        "customer_mail",
    ),
    Entry(
        confirmation_split.ConfirmationLinePartView,
        m.ConfirmationLinePart,
        _l("Split line parts"),
        CYCLE,
        "confirmation_line_part",
    ),
    # Issue 15: the debtor's balance confirmation (对账确认 / 询证函) and its disputes.
    Entry(
        balance_confirm.BalanceConfirmationRequestView,
        m.BalanceConfirmationRequest,
        _l("Balance confirmations"),
        CYCLE,
        "balance_confirmation_request",
    ),
    Entry(
        balance_dispute.BalanceDisputeView,
        m.BalanceDispute,
        _l("Disputed balances"),
        CYCLE,
        "balance_dispute",
    ),
    Entry(
        balance_dispute.BalanceConfirmationAccessView,
        m.BalanceConfirmationAccess,
        _l("Confirmation page log"),
        CYCLE,
        "balance_confirmation_access",
    ),
    Entry(cycle.OverdueReasonView, m.OverdueReason, _l("Overdue reasons"), CYCLE, "overdue_reason"),
    Entry(cycle.TaskView, m.Task, _l("Tasks"), CYCLE, "task"),
    Entry(cycle.NotificationView, m.Notification, _l("Inbox"), CYCLE, "notification"),
    Entry(
        cases.CollectionCaseView, m.CollectionCase, _l("Collection cases"), CASES, "collection_case"
    ),
    Entry(cases.WatchListEntryView, m.WatchListEntry, _l("Watch list"), CASES, "watch_list_entry"),
    Entry(cases.CaseMemberView, m.CaseMember, _l("Case members"), CASES, "case_member"),
    Entry(
        cases.CollectionActionView,
        m.CollectionAction,
        _l("Collection actions"),
        CASES,
        "collection_action",
    ),
    Entry(
        cases.PaymentPromiseView, m.PaymentPromise, _l("Promises to pay"), CASES, "payment_promise"
    ),
    Entry(cases.RepaymentPlanView, m.RepaymentPlan, _l("Repayment plans"), CASES, "repayment_plan"),
    Entry(cases.InstalmentView, m.Instalment, _l("Instalments"), CASES, "instalment"),
    Entry(cases.CollateralView, m.Collateral, _l("Guarantees and collateral"), CASES, "collateral"),
    Entry(
        cases.PaymentInKindView, m.PaymentInKind, _l("Payment in kind"), CASES, "payment_in_kind"
    ),
    Entry(cases.LitigationView, m.Litigation, _l("Litigation"), CASES, "litigation"),
    Entry(
        information.InformationRequestView,
        m.InformationRequest,
        _l("Requests for information"),
        CASES,
        "information_request",
    ),
    Entry(
        cases.CustomerCollectionPlanView,
        m.CustomerCollectionPlan,
        _l("Customer targets and plans"),
        CASES,
        "customer_collection_plan",
    ),
    Entry(cases.CaseCostView, m.CaseCost, _l("Case costs"), CASES, "case_cost"),
    Entry(
        case_rules.CaseSubmissionView,
        m.CaseSubmission,
        _l("Reasons and measures"),
        CASES,
        "case_submission",
    ),
    Entry(
        case_rules.RefusalConsequenceView,
        m.RefusalConsequence,
        _l("Refused applications"),
        CASES,
        "refusal_consequence",
    ),
    Entry(
        cases.DocumentRequirementView,
        m.DocumentRequirement,
        _l("Document checklist"),
        CASES,
        "document_requirement",
    ),
    Entry(
        cases.EvidenceDocumentView,
        m.EvidenceDocument,
        _l("Evidence documents"),
        CASES,
        "evidence_document",
    ),
    Entry(
        writeoff.WriteOffApplicationView,
        m.WriteOffApplication,
        _l("Write-off applications"),
        WRITEOFF,
        "writeoff_application",
    ),
    Entry(
        writeoff.WriteOffItemView, m.WriteOffItem, _l("Write-off items"), WRITEOFF, "writeoff_item"
    ),
    Entry(
        writeoff.ApprovalDecisionView,
        m.ApprovalDecision,
        _l("Approval decisions"),
        WRITEOFF,
        "approval_decision",
    ),
    Entry(
        writeoff.MaterialRequirementView,
        m.MaterialRequirement,
        _l("Required materials"),
        WRITEOFF,
        "material_requirement",
    ),
    Entry(
        writeoff.RecourseEntryView,
        m.RecourseEntry,
        _l("Recourse ledger"),
        WRITEOFF,
        "recourse_entry",
    ),
    Entry(writeoff.RecoveryView, m.Recovery, _l("Recoveries"), WRITEOFF, "recovery"),
    Entry(
        accountability.AccountabilityFindingView,
        m.AccountabilityFinding,
        _l("Accountability findings"),
        ACCOUNTABILITY,
        "accountability_finding",
    ),
    Entry(
        accountability.FindingPartyView,
        m.FindingParty,
        _l("Persons and units named"),
        ACCOUNTABILITY,
        "finding_party",
    ),
    Entry(accountability.SanctionView, m.Sanction, _l("Sanctions"), ACCOUNTABILITY, "sanction"),
    Entry(
        holds.AccountabilityHoldView,
        m.AccountabilityHold,
        _l("Holds"),
        ACCOUNTABILITY,
        "accountability_hold",
    ),
    Entry(holds.HandOverView, m.HandOver, _l("Hand-overs"), SYSTEM, "hand_over"),
    # Assessment and costs (Art.8, 27-30); the pages themselves are added in init_admin.
    Entry(writeoff.TargetView, m.Target, _l("Bases (targets)"), ASSESSMENT, "target"),
    Entry(
        assessment_lists.AssessmentPolicyView,
        m.AssessmentPolicy,
        _l("Assessment policies"),
        ASSESSMENT,
        "assessment_policy",
    ),
    Entry(
        assessment_lists.DebtGradeView,
        m.DebtGrade,
        _l("Difficulty grades"),
        ASSESSMENT,
        "debt_grade",
    ),
    Entry(assessment_lists.ScorecardView, m.Scorecard, _l("Scorecards"), ASSESSMENT, "scorecard"),
    Entry(records.ArchiveRecordView, m.ArchiveRecord, _l("Archives"), ARCHIVE, "archive_record"),
    Entry(records.ArchiveItemView, m.ArchiveItem, _l("Archive manifests"), ARCHIVE, "archive_item"),
    Entry(records.AuditLogView, m.AuditLog, _l("Audit log"), ARCHIVE, "audit_log"),
    Entry(org.CompanyView, m.Company, _l("Companies"), SYSTEM, "company"),
    Entry(org.SalesUnitView, m.SalesUnit, _l("Sales units"), SYSTEM, "sales_unit"),
    Entry(org.UserView, m.User, _l("Users"), SYSTEM, "user"),
    Entry(org.RoleView, m.Role, _l("Roles"), SYSTEM, "role"),
    Entry(cycle.CalendarYearView, m.CalendarYear, _l("Calendar years"), SYSTEM, "calendar_year"),
    Entry(cycle.CalendarDayView, m.CalendarDay, _l("Working-day calendar"), SYSTEM, "calendar_day"),
    Entry(records.SettingView, m.Setting, _l("Settings"), SYSTEM, "setting"),
    # The Jobs page (live progress, errors, re-run) replaces the raw JobRun list.
    Entry(jobs.JobsView, m.JobRun, _l("Jobs"), SYSTEM, "job_run"),
]
