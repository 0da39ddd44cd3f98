"""The admin: every view is registered here, inside the app factory (``init_admin``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, redirect, request, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from backoffice import models as m
from backoffice.extensions import db
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


class HomeView(AdminIndexView):
    """The dashboard; anonymous visitors are sent to the login page."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    @expose("/")
    def index(self):
        from datetime import date

        from backoffice.services.dashboard import with_tasks
        from backoffice.services.dashboard_cache import figures_for
        from backoffice.services.todo import todo_items
        from jobs.reminders import missed_tasks

        as_of = date.today()
        # The figures are shared by every process and everyone with the same scope (Redis),
        # marked with their time when a refresh is on its way; the user's own tasks are read
        # fresh on every request.
        figures = figures_for(current_user, as_of)
        # Issue 11: the page starts with the role's own to-do (one count per kind of work);
        # its count of open tasks is the card's, whatever the number of tasks listed.
        todo = todo_items(current_user, as_of)
        tasks = next(((i.count, i.late) for i in todo if i.key == "tasks"), None)
        data = with_tasks(figures, current_user, as_of, tasks)
        # SPEC §3.2: every missed deadline in the user's scope shows on the dashboard.
        data["missed"] = missed_tasks(db.session, current_user, as_of)[:50]
        return self.render("admin/home.html", data=data, todo=todo)


def init_admin(app: Flask) -> Admin:
    admin = Admin(
        app,
        name=_l("Qingqian"),
        index_view=HomeView(name=_l("Dashboard"), url="/admin", endpoint="admin"),
        theme=Bootstrap4Theme(base_template="admin/qq_base.html", fluid=True),
    )
    from backoffice.views import menu_cache

    menu_cache.init_app(app)  # the rendered menu, once per roles, language and page
    for entry in REGISTRY:
        admin.add_view(
            entry.view(
                entry.model, db, name=entry.name, category=entry.category, endpoint=entry.endpoint
            )
        )
    from backoffice.views.evidence import EvidenceView

    # Upload/download/verify of evidence files (§3.4); not a menu entry.
    admin.add_view(EvidenceView(name=_l("Evidence files"), endpoint="evidence", url="evidence"))
    from backoffice.services.audit import SealedError
    from backoffice.views.base import sealed_refused

    # Art.22: a change to a sealed record that escaped its view is refused and audited.
    app.register_error_handler(SealedError, sealed_refused)
    from backoffice.services.transitions import StaleStateError
    from backoffice.views.conflict import conflict_refused

    # A request that lost a race to a concurrent decision: a 409 page, never a 500.
    app.register_error_handler(StaleStateError, conflict_refused)
    from backoffice.views.imports import ImportView

    # ERP import upload, progress and result pages (§3.1).
    admin.add_view(
        ImportView(name=_l("Import from ERP"), category=LEDGER, endpoint="imports", url="import")
    )
    from backoffice.views.leadership import LeadershipView

    # Art.9: the monthly report to the leadership group (§3.7).
    admin.add_view(
        LeadershipView(
            name=_l("Leadership report"), category=CYCLE, endpoint="leadership", url="leadership"
        )
    )
    # Art.26: the register of holds (and later flags) HR exports (issue 12).
    admin.add_view(
        holds.AccountabilityRegisterView(
            name=_l("Accountability register"),
            category=ACCOUNTABILITY,
            endpoint="accountability_register",
            url="accountability-register",
        )
    )
    from backoffice.views.predue import PredueView
    from backoffice.views.rule_settings import RuleSettingsView

    # The practice texts' warning before the due date; the rules' settings (Art.3, 16).
    admin.add_view(PredueView(name=_l("Falling due"), category=LEDGER, endpoint="predue"))
    admin.add_view(
        RuleSettingsView(name=_l("Collection rule settings"), category=SYSTEM, endpoint="rules")
    )
    # Issue 14 §2: the customer e-mail templates and the dunning schedule.
    admin.add_view(
        customer_mail.MailSettingsView(
            name=_l("Customer e-mail settings"),
            category=SYSTEM,
            endpoint="mail_settings",
            url="mail-settings",
        )
    )
    from backoffice.views.assessment import AssessmentView
    from backoffice.views.costs import CostLedgerView

    # Art.26(4), 27-30: policy, bases, grades, scorecards; Art.8: the cost ledger.
    admin.add_view(
        AssessmentView(
            name=_l("Assessment and rewards"),
            category=ASSESSMENT,
            endpoint="assessment",
            url="assessment",
        )
    )
    admin.add_view(
        CostLedgerView(
            name=_l("Collection cost ledger"), category=ASSESSMENT, endpoint="costs", url="costs"
        )
    )
    from backoffice.views.balance_register import BalanceRegisterView

    # Issue 15: the auditors' register of balance confirmations per year, and its XLSX.
    admin.add_view(
        BalanceRegisterView(
            name=_l("Confirmations register"),
            category=CYCLE,
            endpoint="balance_register",
            url="balance-register",
        )
    )
    from backoffice.views.data_index import DataIndexView

    # Every list the role may open, beyond the daily ones in its menu (issue 11).
    admin.add_view(DataIndexView(name=_l("All records"), endpoint="data_index", url="data"))
    return admin
