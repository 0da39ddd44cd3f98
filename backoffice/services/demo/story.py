"""Demo steps that tell the product's whole story (issue 11), each through the real services so
the audit trail, numbers, notices and seals are what users would get:

- cases with their document checklists and evidence files;
- last year's sealed archive, built by the real year-end transfer on a case closed last year;
- write-off applications at every approval step, one returned, one filed with its
  recourse-ledger entry, a recovery, its accountability finding and a sanction;
- a repayment plan with a late instalment, and case costs (Art.8);
- the monthly confirmation round: last month's forms answered and routed, this month's in
  several states (Art.12–15).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from backoffice.models.case import (
    ActionKind,
    CaseCost,
    CaseOutcome,
    CaseStatus,
    CollectionAction,
    CollectionCase,
    CostKind,
    DocumentRequirement,
    Instalment,
    RepaymentPlan,
)
from backoffice.models.evidence import DocumentType
from backoffice.models.monthly import ConfirmationForm, FormStatus, OverdueReason, ReasonClass
from backoffice.models.receivable import Receivable, ReceivableStatus
from backoffice.models.writeoff import (
    AccountabilityFinding,
    ApprovalStep,
    Decision,
    RecourseEntry,
    ResponsibilityKind,
    Sanction,
    SanctionKind,
    SanctionStatus,
    WriteOffGround,
)
from backoffice.services import archive, cases, confirmation, monthly
from backoffice.services import writeoff as wo
from backoffice.services.demo import accountability, rules_a
from backoffice.services.demo import assessment as assessment_demo
from backoffice.services.demo import balance_confirm as balance_confirm_demo
from backoffice.services.demo.rules_b import seed_rules_b
from backoffice.services.evidence import store_generated
from backoffice.services.pdf import render_pdf

CHAIN = (
    (ApprovalStep.TEAM_REVIEW, "teamlead"),
    (ApprovalStep.DIVISION_VP, "vp"),
    (ApprovalStep.CFO, "cfo"),
    (ApprovalStep.PRESIDENT, "leader"),
)
# How far each demo write-off goes: 0 = draft, 1 = submitted, n = n - 1 steps approved (5: all
# four, awaiting filing), "returned" = refused at the VP's step, "filed" = through both filings.
WRITEOFF_STAGES: tuple[int | str, ...] = ("filed", 5, "returned", 1, 2, 3, 4, 0)


class StorySteps:
    """Mixed into ``DemoBuilder``; runs after the ledger and the cases exist."""

    def story(self) -> None:
        self.case_documents()
        self.last_year_archive()
        self.writeoffs()
        self.plans_and_costs()
        seed_rules_b(self)  # issue 12: plans, lawsuits, assets, targets, requests
        self.confirmation_rounds()
        accountability.build(self)  # issue 12: findings, measures and holds
        rules_a.seed(self)  # issue 12's partial rules (Art.3, 12, 15 (3), 16 (4), 17, pre-due)
        assessment_demo.seed(self)  # Art.8, 26(4), 27-30: bases, grades, a scorecard, costs
        balance_confirm_demo.seed(self)  # issue 15: confirmations in every state, a dispute

    # -- helpers ------------------------------------------------------------------------------

    def _document(self, case: CollectionCase, title: str, doc_type: DocumentType, text: str):
        """A small real PDF kept in the case file, as an upload would be."""
        data = render_pdf(
            "demo_document.html", company=case.company, title=title, case=case, text=text
        )
        doc = store_generated(
            self.session, case, data, filename=f"{title}.pdf", user=self.users["legal"]
        )
        doc.doc_type = doc_type
        return doc

    def _cased_customers(self) -> set[int]:
        return set(self.session.scalars(select(CollectionCase.customer_id)))

    def _old_debtors(self, older_than: date) -> list:
        """Plans without a case whose customer owes something due before ``older_than``: the
        demo collector's unit first, then the oldest debt first."""
        taken = self._cased_customers()
        found = []
        for plan in self.plans:
            if plan.customer.id in taken:
                continue
            old = [
                r
                for r in plan.receivables
                if r.status is ReceivableStatus.OPEN
                and r.outstanding > 0
                and r.due_date < older_than
            ]
            if old:
                found.append((plan, old))
        found.sort(key=lambda item: (item[0].unit.code != "EAST", min(r.due_date for r in item[1])))
        return found

    # -- steps --------------------------------------------------------------------------------

    def case_documents(self) -> None:
        """Art.17: each filed case has its checklist; most documents are in, and the case
        waiting for documents still misses two."""
        kinds = list(cases.CHECKLIST)
        for case in self.session.scalars(
            select(CollectionCase).where(CollectionCase.status != CaseStatus.APPLIED)
        ):
            due = case.documents_due or (case.filed_on or self.today) + timedelta(days=7)
            have = kinds[:3] if case.status is CaseStatus.DOCUMENTS_REQUESTED else kinds
            for kind in kinds:
                requirement = DocumentRequirement(case_id=case.id, doc_type=kind.value, due_on=due)
                if kind in have:
                    doc = self._document(
                        case,
                        f"{case.case_no} {kind.label}",
                        kind,
                        f"{case.customer.name}：{kind.label}（演示材料，扫描件）。",
                    )
                    requirement.document_id = doc.id
                self.session.add(requirement)
        self.commit()

    def last_year_archive(self) -> None:
        """Art.21–22: a case worked and closed last year, sealed by the real year-end transfer,
        so the auditor's archive list is not empty and ``archive verify --all`` has work."""
        year = self.today.year - 1
        candidates = self._old_debtors(date(year, 9, 1))
        if not candidates:
            return
        plan, old = min(candidates, key=lambda item: min(r.due_date for r in item[1]))
        applied_on = min(r.due_date for r in old) + timedelta(days=45)
        lead = self.users["teamlead"]
        case = cases.apply(
            self.session,
            plan.customer.id,
            lead.id,
            "客户长期拖欠，事业部申请清欠小组介入",
            applied_on,
        )
        cases.accept(self.session, case, lead.id, applied_on)
        self.commit()
        self._document(
            case,
            f"{case.case_no} 对账单",
            DocumentType.RECONCILIATION,
            "双方核对一致的往来对账单（演示材料）。",
        )
        cases.start_work(self.session, case, override_reason="对账单已到，其余材料随后补交")
        for offset, kind, result in (
            (12, ActionKind.PHONE, "客户财务称资金链断裂，无力偿还"),
            (40, ActionKind.DEMAND_LETTER, "寄送催款函，客户签收后未回复"),
            (95, ActionKind.VISIT, "上门拜访，客户已停产，厂房被银行查封"),
        ):
            self.session.add(
                CollectionAction(
                    case_id=case.id,
                    kind=kind,
                    on=applied_on + timedelta(days=offset),
                    user_id=lead.id,
                    result=result,
                )
            )
        cases.close(
            self.session,
            case,
            lead.id,
            CaseOutcome.HARD_TO_COLLECT,
            "债务人停产，名下资产已被抵押权人查封，暂无可供执行财产，转入备查",
            date(year, 11, 20),
        )
        self.commit()
        archive.year_end_transfer(self.session, year)
        self.commit()

    def writeoffs(self) -> None:
        """Art.18: applications at every step of the chain, one returned and one filed."""
        debtors = self._old_debtors(self.today - timedelta(days=180))
        finance = self.users["finance"]
        for stage, (plan, old) in zip(WRITEOFF_STAGES, debtors, strict=False):
            receivable = old[0]
            # The demo collector works 华东; elsewhere finance drafts for the unit.
            applicant = self.users["collector"] if plan.unit.code == "EAST" else finance
            application = wo.create(
                self.session,
                applicant=applicant,
                customer_id=plan.customer.id,
                ground=WriteOffGround.HOPELESS,
                items=[(receivable.id, str(receivable.outstanding))],
                facts=f"{plan.customer.name}已停止经营，经电话、上门、律师函多次催收无果，"
                "申请按呆账核销，保留追索权。",
            )
            self.commit()
            if stage == 0:
                continue
            # Annex 6: materials still being gathered, with a date and finance's opinion.
            application.materials_missing_reason = "工商注销证明正在调取中"
            application.materials_due_on = self.today + timedelta(days=20)
            wo.give_finance_opinion(application, finance, "经核对账面余额无误，同意申请")
            wo.submit(self.session, application, applicant, self.today - timedelta(days=12))
            self.commit()
            approvals = 4 if stage == "filed" else (1 if stage == "returned" else stage - 1)
            for step, who in CHAIN[:approvals]:
                wo.decide(
                    self.session, application, self.users[who], step, Decision.APPROVED, "同意"
                )
            if stage == "returned":
                wo.decide(
                    self.session,
                    application,
                    self.users["vp"],
                    ApprovalStep.DIVISION_VP,
                    Decision.REJECTED,
                    "请补充上门催收记录和客户注销证明后再报",
                )
            self.commit()
            if stage == "filed":
                self._file(application, plan)

    def _file(self, application, plan) -> None:
        """Both filings, a recovery on the recourse ledger, the finding and a sanction."""
        on = self.today - timedelta(days=6)
        ref = f"记-{on:%Y-%m}-0042"
        wo.file(self.session, application, self.users["finance"], on, ref)
        wo.file(self.session, application, self.users["credit"], on)
        self.commit()
        entry = self.session.scalar(
            select(RecourseEntry).where(RecourseEntry.application_id == application.id)
        )
        wo.record_recovery(
            self.session, entry, "3000.00", self.today - timedelta(days=2), "债务人股东代偿部分款项"
        )
        finding = self.session.scalar(
            select(AccountabilityFinding).where(
                AccountabilityFinding.application_id == application.id
            )
        )
        if finding is not None:
            # Art.24–26: the team's analysis names the person and the facts.
            finding.kind = ResponsibilityKind.INDIVIDUAL
            finding.people = f"{self.users['collector'].display_name}（催收专员）"
            finding.finding = (
                f"{plan.customer.name}逾期后未按月对账，停货申请晚于逾期 120 天，"
                "致使损失扩大；业务员负直接责任。"
            )
            self.session.add(
                Sanction(
                    finding_id=finding.id,
                    user_id=self.users["collector"].id,
                    kind=SanctionKind.NOTICE,
                    status=SanctionStatus.DECIDED,
                    decided_by_id=self.users["leader"].id,
                    decided_on=self.today - timedelta(days=1),
                    note="清欠领导小组决定：通报批评（Art.20）",
                )
            )
        self.commit()

    def plans_and_costs(self) -> None:
        """A repayment plan whose second instalment is late; costs charged to cases (Art.8)."""
        working = list(
            self.session.scalars(
                select(CollectionCase)
                .where(CollectionCase.status == CaseStatus.IN_PROGRESS)
                .order_by(CollectionCase.id)
            )
        )
        if not working:
            return
        case = working[0]
        open_amount = cases.open_balance(self.session, case)
        part = (Decimal(open_amount) * Decimal("0.2")).quantize(Decimal("0.01"))
        agreed = self.today - timedelta(days=75)
        plan = RepaymentPlan(case_id=case.id, agreed_on=agreed, total=part * 3, note="分三期还款")
        plan.instalments = [
            Instalment(seq=1, due_on=agreed + timedelta(days=30), amount=part, paid_amount=part),
            Instalment(seq=2, due_on=self.today - timedelta(days=12), amount=part),
            Instalment(seq=3, due_on=self.today + timedelta(days=18), amount=part),
        ]
        self.session.add(plan)
        for case, kind, amount, note in zip(
            working,
            (CostKind.TRAVEL, CostKind.LOST_TIME, CostKind.LEGAL),
            ("1860.00", "2400.00", "8000.00"),
            ("上门催收差旅费（高铁、住宿）", "催收人员误工补贴 3 天", "律师函及诉前保全律师费"),
            strict=False,
        ):
            self.session.add(
                CaseCost(
                    case_id=case.id,
                    company_id=case.company_id,
                    sales_unit_id=case.sales_unit_id,
                    kind=kind,
                    amount=Decimal(amount),
                    incurred_on=self.today - timedelta(days=20),
                    note=note,
                )
            )
        self.commit()

    def confirmation_rounds(self) -> None:
        """Art.12–15: last month's forms answered, submitted and routed; this month's round
        answered in part, submitted, routed or not yet touched, unit by unit."""
        # A period is named by the month it is dispatched in (as of the previous month's close,
        # Art.12), as the scheduler names it: this month's, once its dispatch day has come.
        this_month = self.today.replace(day=1)
        if self.today < monthly.plan(self.session, f"{this_month:%Y-%m}").dispatch_date:
            this_month = (this_month - timedelta(days=1)).replace(day=1)
        last_month = (this_month - timedelta(days=1)).replace(day=1)
        for period, states in (
            (f"{last_month:%Y-%m}", ("routed",) * len(self.units)),
            (f"{this_month:%Y-%m}", ("partly", "submitted", "routed", "issued", "issued")),
        ):
            p = monthly.plan(self.session, period)
            run = monthly.ensure_run(self.session, p)
            for unit, state in zip(self.units, states, strict=False):
                monthly.build_confirmation_form(self.session, run, unit, p)
                form = self.session.scalar(
                    select(ConfirmationForm).where(
                        ConfirmationForm.period == period,
                        ConfirmationForm.sales_unit_id == unit.id,
                    )
                )
                if form is not None and state != "issued":
                    self._answer(form, state, p.form_date)
            self.commit()

    def _answer(self, form: ConfirmationForm, state: str, issued_on: date) -> None:
        reasons = list(self.session.scalars(select(OverdueReason).order_by(OverdueReason.id)))
        by_class = {c: [r for r in reasons if r.reason_class is c] for c in ReasonClass}
        lines = form.lines[: max(1, len(form.lines) // 2)] if state == "partly" else form.lines
        for i, line in enumerate(lines):
            reason_class = ReasonClass.EXTERNAL if i % 3 else ReasonClass.INTERNAL
            reason = by_class[reason_class][i % len(by_class[reason_class])]
            confirmation.answer_line(
                self.session,
                line,
                confirmation.Answer(
                    reason_class,
                    reason.id,
                    (line.outstanding_at_close * Decimal("0.6")).quantize(Decimal("0.01")),
                    issued_on + timedelta(days=30 + i % 60),
                    "已与客户财务对账，承诺分批付款" if i % 2 else None,
                ),
            )
        if state == "partly":
            return
        collector = self.session.scalar(
            select(Receivable.collector_id).where(Receivable.sales_unit_id == form.sales_unit_id)
        )
        confirmation.submit(self.session, form, collector or self.users["collector"].id, issued_on)
        if state == "routed":
            confirmation.route_form(self.session, form, self.users["finance"].id)
        assert form.status in (FormStatus.SUBMITTED, FormStatus.ROUTED)
