"""Demo steps: collection cases for debts over six months overdue and one application (Art.16)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from backoffice.models.base import to_money
from backoffice.models.case import (
    ActionKind,
    CaseMember,
    CaseOrigin,
    CaseOutcome,
    CaseReceivable,
    CaseStatus,
    Collateral,
    CollateralKind,
    CollectionAction,
    CollectionCase,
    Litigation,
    PaymentPromise,
    PromiseStatus,
)
from backoffice.models.customer import (
    FinancialStatus,
)
from backoffice.services.demo.data import (
    COURTS,
    STRATEGY_FOR,
    add_months,
)


class CaseSteps:
    """Mixed into ``DemoBuilder``."""

    def cases(self) -> None:
        """Art.16 (3): compulsory cases for customers over 6 months overdue; one application."""
        six_months_ago = add_months(self.today, -6)
        three_months_ago = add_months(self.today, -3)
        overdue_long = []
        for plan in self.plans:
            old = [r for r in plan.receivables if r.outstanding > 0 and r.due_date < six_months_ago]
            if old:
                overdue_long.append((plan, old))
        # The collector's unit first, so the demo collector has cases to work on.
        overdue_long.sort(key=lambda item: (item[0].unit.code != "EAST", item[0].customer.id))
        east = [item for item in overdue_long if item[0].unit.code == "EAST"]
        others = {}
        for item in overdue_long:
            others.setdefault(item[0].unit.code, item)
        others.pop("EAST", None)
        chosen = east[:3] + list(others.values())[:3]

        rows: list[object] = []
        seq = 0
        statuses = [
            CaseStatus.IN_PROGRESS,
            CaseStatus.DOCUMENTS_REQUESTED,
            CaseStatus.IN_PROGRESS,
            CaseStatus.FILED,
            CaseStatus.IN_PROGRESS,
            CaseStatus.CLOSED,
        ]
        for (plan, old), status in zip(chosen, statuses, strict=False):
            seq += 1
            oldest = min(r.due_date for r in old)
            filed = max(
                add_months(oldest, 6) + timedelta(days=10), self.today - timedelta(days=200)
            )
            filed = min(filed, self.today - timedelta(days=5))
            rows += self._case(plan, old, seq, CaseOrigin.COMPULSORY, status, filed)

        # Art.16 (4): a collector applies for help with a debt 3–6 months overdue.
        for plan in self.plans:
            if plan.unit.code != "EAST" or plan in [c[0] for c in chosen]:
                continue
            recent = [
                r
                for r in plan.receivables
                if r.outstanding > 0 and six_months_ago <= r.due_date < three_months_ago
            ]
            if recent:
                seq += 1
                rows += self._case(
                    plan,
                    recent,
                    seq,
                    CaseOrigin.APPLICATION,
                    CaseStatus.APPLIED,
                    self.today - timedelta(days=2),
                )
                break
        self.commit(rows)

    def _working_days_after(self, day: date, n: int) -> date:
        # Weekends only: the demo must not depend on which calendar years are loaded.
        while n:
            day += timedelta(days=1)
            if day.weekday() < 5:
                n -= 1
        return day

    def _case(self, plan, recs, seq, origin, status, filed: date) -> list[object]:
        rng = self.rng
        customer = plan.customer
        users = self.users
        amount = sum((r.outstanding for r in recs), Decimal("0.00"))
        applied = origin == CaseOrigin.APPLICATION
        case = CollectionCase(
            company_id=customer.company_id,
            sales_unit_id=customer.sales_unit_id,
            case_no=f"QQ{filed.year}-{seq:05d}",  # the format of cases._case_no
            customer_id=customer.id,
            origin=origin,
            status=status,
            applied_by_id=users["collector"].id if applied else None,
            applied_at=self.at(filed) if applied else None,
            application_reason=(
                "客户以资金紧张为由多次推迟付款,申请清欠小组协助清收" if applied else None
            ),
            decided_by_id=None if applied else users["teamlead"].id,
            decided_at=None if applied else self.at(filed),
            filed_on=None if applied else filed,
            # Art.17: evidence, reasons and proposed measures within 5 working days.
            documents_due=None if applied else self._working_days_after(filed, 5),
            lead_id=None if applied else users["teamlead"].id,
            amount_at_filing=None if applied else amount,
            suggested_strategy=STRATEGY_FOR.get(customer.financial_status),
        )
        rows: list[object] = [case]
        rows += [CaseReceivable(case=case, receivable=r) for r in recs]
        if applied:
            return rows
        collector_id = users["collector"].id if plan.unit.code == "EAST" else None
        rows += [
            CaseMember(case=case, user_id=users["teamlead"].id, duty="组长"),
            CaseMember(case=case, user_id=users["legal"].id, duty="法务专员"),
            CaseMember(case=case, user_id=users["finance"].id, duty="财务专员"),
        ]
        if collector_id:
            rows.append(CaseMember(case=case, user_id=collector_id, duty="催收专员"))
        steps = [
            (ActionKind.PHONE, collector_id, "客户财务称资金紧张,承诺月底前付一部分"),
            (ActionKind.DEMAND_LETTER, users["teamlead"].id, "已发书面催款函,客户签收"),
            (ActionKind.VISIT, collector_id, "上门拜访,与客户总经理面谈,对账无异议"),
            (ActionKind.LAWYER_LETTER, users["legal"].id, "委托律师事务所发出律师函"),
            (ActionKind.SHIPMENT_STOP, users["credit"].id, "总裁办批准停货"),
        ]
        day = filed
        for kind, user_id, result in steps[: rng.randint(2, len(steps))]:
            day = min(self.today, day + timedelta(days=rng.randint(3, 20)))
            rows.append(
                CollectionAction(case=case, kind=kind, on=day, user_id=user_id, result=result)
            )
        rows.append(
            PaymentPromise(
                case=case,
                promised_on=filed + timedelta(days=7),
                amount=to_money(amount * Decimal("0.3")),
                due_on=filed + timedelta(days=37),
                status=PromiseStatus.BROKEN
                if filed + timedelta(days=37) < self.today
                else PromiseStatus.PENDING,
                note="客户口头承诺先付三成",
            )
        )
        if customer.financial_status == FinancialStatus.POOR_FUNDS_GOOD_PROSPECTS:
            rows.append(
                Collateral(
                    case=case,
                    kind=CollateralKind.GUARANTEE,
                    description="客户实际控制人出具个人连带责任担保书",
                    value=amount,
                    guarantor=customer.contact_person,
                )
            )
        if customer.financial_status == FinancialStatus.MALICIOUS:
            court, prefix = COURTS.get(plan.unit.code, COURTS["EAST"])
            rows.append(
                Litigation(
                    case=case,
                    court=court,
                    court_case_no=f"({filed.year}){prefix}民初{rng.randint(100, 999)}号",
                    filed_on=min(self.today, filed + timedelta(days=45)),
                )
            )
        if status == CaseStatus.CLOSED:
            # Art.21: a case closes with an outcome: here the status and why it is hard.
            case.outcome = CaseOutcome.HARD_TO_COLLECT
            case.outcome_note = "客户已停止经营,名下无可供执行财产,建议申请呆账核销"
            case.closed_on = min(self.today, filed + timedelta(days=90))
            case.closed_by_id = users["teamlead"].id
        return rows
