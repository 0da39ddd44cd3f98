"""Demo data for the run command (``flask --app app seed-demo``).

Builds a realistic, deterministic data set (fixed random seed; due dates relative to
``date.today()``): the group company 华锐重工 and its wholly-owned subsidiary (Art.4), five sales
units, one demo user per entry of ``DEMO_USERS``, about 200 customers with credit data, contracts
with penalty terms (Art.3), 5,000 receivables over two years of due dates (Art.2), payments,
credit notes and one overpayment allocated to them, a few collection cases for debts over six
months overdue (Art.16), the overdue sub-reasons of Art.14–15 and the Annex 6 write-off
materials checklist (Art.18).

Every row goes through the ORM, so the audit trail records each one under the current actor.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from math import exp, log

from sqlalchemy import func, select

from backoffice.extensions import db
from backoffice.models.base import CENT, SHANGHAI, to_money
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
    Strategy,
)
from backoffice.models.customer import (
    CreditEvent,
    CreditEventKind,
    CreditRating,
    Customer,
    FinancialStatus,
)
from backoffice.models.org import Company, SalesUnit
from backoffice.models.receivable import (
    Contract,
    Payment,
    PaymentAllocation,
    PaymentKind,
    PenaltyKind,
    Receivable,
    ReceivableStatus,
    ReceivableType,
)
from backoffice.models.setting import Target
from backoffice.models.user import LeaderTitle, RoleName, User
from backoffice.services import accounts
from backoffice.services.reference import ensure_reference_data

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed by the run command on purpose

#: (username, role, what they see)
DEMO_USERS: list[tuple[str, str, str]] = [
    ("admin", "admin", "系统管理员: everything"),
    ("leader", "leader", "总裁 (president): approves write-offs"),
    ("cfo", "leader", "财务总监 (CFO): approves write-offs"),
    ("vp", "leader", "分管领导 (division VP): approves write-offs"),
    ("teamlead", "team_lead", "清欠小组组长: cases, reviews"),
    ("finance", "finance", "财务专员: imports, monthly cycle"),
    ("legal", "legal", "法务专员: evidence, litigation"),
    ("credit", "credit", "信控专员: credit control"),
    ("collector", "collector", "催收专员 of unit 华东事业部 only"),
    ("auditor", "auditor", "内审: reads everything, changes nothing"),
]

RANDOM_SEED = 20260103
CUSTOMER_COUNT = 200
RECEIVABLE_COUNT = 5000
HISTORY_DAYS = 730  # two years of due dates ...
FUTURE_DAYS = 60  # ... ending a little after today, so some are not yet due
CUSTOMERS_PER_COMMIT = 25

# (code, name, address, phone, bank account)
COMPANIES = [
    (
        "HRZG",
        "华锐重工集团股份有限公司",
        "江苏省苏州市工业园区星湖街328号",
        "0512-6288 0000",
        "中国工商银行苏州工业园区支行 1102 0201 0900 1234 567",
    ),
    (
        "HRZN",
        "华锐智能装备有限公司",
        "四川省成都市高新区天府大道中段1388号",
        "028-8566 0000",
        "中国建设银行成都高新支行 5105 0142 6208 0000 321",
    ),
]

# (company index, code, name, share of customers, regions the unit's customers come from)
UNITS = [
    (0, "EAST", "华东事业部", 0.28, ["上海", "苏州", "无锡", "南京", "杭州", "宁波", "合肥"]),
    (0, "NORTH", "华北事业部", 0.22, ["北京", "天津", "石家庄", "唐山", "太原", "包头"]),
    (0, "SOUTH", "华南事业部", 0.20, ["广州", "深圳", "佛山", "东莞", "厦门", "南宁"]),
    (1, "WEST", "西部事业部", 0.18, ["成都", "重庆", "西安", "昆明", "贵阳", "乌鲁木齐"]),
    (1, "EXPORT", "国际贸易事业部", 0.12, ["深圳前海", "上海自贸区", "青岛", "天津港"]),
]

USER_PROFILES = {
    # username: (display name, employee code, leader title)
    "admin": ("系统管理员", "A0001", None),
    "leader": ("刘振华", "L0001", LeaderTitle.PRESIDENT),
    "cfo": ("陈静", "L0002", LeaderTitle.CFO),
    "vp": ("赵立新", "L0003", LeaderTitle.DIVISION_VP),
    "teamlead": ("孙浩", "T0001", None),
    "finance": ("李娜", "F0001", None),
    "legal": ("周志远", "J0001", None),
    "credit": ("吴敏", "X0001", None),
    "collector": ("张伟", "S1001", None),
    "auditor": ("郑芳", "N0001", None),
}

# ERP salespeople (业务员) with no user account: imported rows keep the name (SPEC §3.1).
OTHER_SALESPEOPLE = ["王磊", "杨帆", "黄晓东", "马俊", "胡婷", "林志强", "何军", "高原"]

NAME_CORES = [
    "恒达", "鑫源", "宏远", "盛通", "永信", "华泰", "金石", "博远", "中联", "天成",
    "瑞丰", "汇通", "久益", "东方", "长城", "新锐", "正大", "国泰", "隆基", "开元",
    "万通", "聚力", "宏图", "三禾", "嘉诚", "同创", "锦程", "恒升", "远航", "明阳",
    "德润", "安泰", "广利", "兴业", "润达", "众合", "华星", "振兴", "凯旋", "海川",
]  # fmt: skip
NAME_TRADES = [
    "机械制造", "重型装备", "建设工程", "钢结构工程", "物流", "矿山机械", "电气设备",
    "新能源科技", "建材", "港口机械", "工程机械租赁", "环保设备", "起重设备", "冶金设备",
    "水利工程", "路桥建设", "机电设备安装", "汽车零部件",
]  # fmt: skip
EXPORT_TRADES = ["国际贸易", "进出口", "供应链管理", "国际物流"]
NAME_SUFFIXES = ["有限公司", "有限公司", "有限公司", "股份有限公司", "集团有限公司"]
CONTACT_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"
CONTACT_GIVEN = ["建华", "志强", "秀英", "海燕", "国栋", "丽娟", "晓明", "春梅", "永刚", "文博"]
STREETS = ["人民路", "建设大道", "工业大道", "经济开发区", "高新技术产业园", "滨江路", "解放路"]

RATING_LIMITS = {
    CreditRating.AAA: (3_000_000, 8_000_000),
    CreditRating.AA: (2_000_000, 5_000_000),
    CreditRating.A: (800_000, 3_000_000),
    CreditRating.B: (300_000, 1_200_000),
    CreditRating.C: (100_000, 500_000),
    CreditRating.D: (0, 100_000),
}

HOLD_REASONS = [
    "逾期超过6个月未回款,经总裁办批准暂停发货",
    "累计欠款超出信用额度,停货待回款",
    "多次承诺付款未兑现,停货并移交清欠小组",
    "客户涉诉,资金冻结,暂停发货",
]

# Art.23: the strategy the financial status suggests.
STRATEGY_FOR = {
    FinancialStatus.GOOD_FUNDS: Strategy.PRESS_FOR_CASH,
    FinancialStatus.POOR_FUNDS_GOOD_PROSPECTS: Strategy.COLLATERAL,
    FinancialStatus.POOR_FUNDS_POORLY_RUN: Strategy.PAYMENT_IN_KIND,
    FinancialStatus.MALICIOUS: Strategy.LITIGATION,
}

# Where a unit's litigation is filed: (court, prefix of its case numbers).
COURTS = {
    "EAST": ("苏州市中级人民法院", "苏05"),
    "NORTH": ("天津市第一中级人民法院", "津01"),
    "SOUTH": ("广州市中级人民法院", "粤01"),
    "WEST": ("成都市中级人民法院", "川01"),
    "EXPORT": ("深圳前海合作区人民法院", "粤0391"),
}

GOOD, SLOW, BAD = "good", "slow", "bad"


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months, clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def demo_data_present() -> bool:
    """Whether the database already holds the demo companies or any demo user."""
    codes = [c[0] for c in COMPANIES]
    names = [u[0] for u in DEMO_USERS]
    return bool(
        db.session.scalar(select(func.count()).select_from(Company).where(Company.code.in_(codes)))
        or db.session.scalar(select(func.count()).select_from(User).where(User.username.in_(names)))
    )


def seed_demo_data(force: bool = False) -> bool:
    """Load the demo data set and commit it; return True if it was loaded.

    Idempotent: without ``force`` nothing happens (False) when the database already holds any
    company or any demo user, so the run command can call it on every start without touching a
    real database. ``force`` seeds into a non-empty database, reusing demo users that already
    exist (their passwords are left alone); it still refuses (False) when the demo companies
    exist, since their codes, documents and payments would collide.
    Commits several times; on an error the current batch is rolled back and the error raised.
    """
    session = db.session
    demo_codes = [c[0] for c in COMPANIES]
    if session.scalar(
        select(func.count()).select_from(Company).where(Company.code.in_(demo_codes))
    ):
        return False
    if not force and (
        session.scalar(select(func.count()).select_from(Company)) or demo_data_present()
    ):
        return False
    # Objects stay loaded across the batch commits, so later steps need not re-read them.
    real_session = session()
    expire = real_session.expire_on_commit
    real_session.expire_on_commit = False
    try:
        _DemoBuilder(date.today()).build()
    except Exception:
        session.rollback()
        raise
    finally:
        real_session.expire_on_commit = expire
    return True


# ---------------------------------------------------------------------------------------------


@dataclass
class _CustomerPlan:
    customer: Customer
    unit: SalesUnit
    profile: str
    count: int
    contracts: list[Contract] = field(default_factory=list)
    salesperson: str = ""
    # bad payers stop paying at this date (and are put on hold some months later)
    stopped_on: date | None = None
    receivables: list[Receivable] = field(default_factory=list)


class _DemoBuilder:
    """Builds the data set step by step; one instance per seeding, deterministic per day."""

    def __init__(self, today: date):
        self.today = today
        self.rng = random.Random(RANDOM_SEED)
        self.session = db.session
        self.companies: list[Company] = []
        self.units: list[SalesUnit] = []
        self.users: dict[str, User] = {}
        self.plans: list[_CustomerPlan] = []
        self.doc_seq: dict[int, int] = {}
        self.payment_seq: dict[int, int] = {}
        self.contract_seq: dict[int, int] = {}
        self.credit_notes_left = 15
        self.overpayment_done = False

    # -- helpers ------------------------------------------------------------------------------

    def money(self, low: float, high: float) -> Decimal:
        """A log-uniform amount between low and high yuan (many small, few large)."""
        value = exp(self.rng.uniform(log(low), log(high)))
        return Decimal(str(round(value, 2))).quantize(CENT)

    def next_no(self, counter: dict[int, int], company_id: int) -> int:
        counter[company_id] = counter.get(company_id, 0) + 1
        return counter[company_id]

    def at(self, day: date, hour: int = 10) -> datetime:
        return datetime.combine(day, time(hour), tzinfo=SHANGHAI).astimezone(UTC)

    def commit(self, rows: Iterable[object] = ()) -> None:
        self.session.add_all(list(rows))
        self.session.commit()

    # -- steps --------------------------------------------------------------------------------

    def build(self) -> None:
        self.org_and_users()
        self.reference_lists()
        self.customers_and_contracts()
        self.ledger()
        self.cases()
        self.targets()

    def targets(self) -> None:
        """Art.29: a collection base per unit for each of the last six closed months, so the
        leadership report shows achievement and excess (leaders set these in System → Targets)."""
        rows = []
        month_end = self.today.replace(day=1) - timedelta(days=1)
        for _ in range(6):
            period = f"{month_end.year:04d}-{month_end.month:02d}"
            for unit in self.units:
                base = (self.money(2_000_000, 12_000_000) / 100_000).quantize(Decimal(1)) * 100_000
                rows.append(
                    Target(company_id=unit.company_id, sales_unit_id=unit.id, period=period,
                           base_amount=base, note="演示数据")
                )
            month_end = month_end.replace(day=1) - timedelta(days=1)
        self.commit(rows)

    def org_and_users(self) -> None:
        for code, name, address, phone, bank in COMPANIES:
            self.companies.append(
                Company(code=code, name=name, address=address, phone=phone, bank_account=bank)
            )
        self.commit(self.companies)
        for company_index, code, name, *_ in UNITS:
            company = self.companies[company_index]
            self.units.append(
                SalesUnit(
                    company_id=company.id,
                    code=code,
                    name=name,
                    contact_emails=f"{code.lower()}-ar@huarui.example.com",
                )
            )
        self.commit(self.units)

        roles = accounts.ensure_roles(self.session)
        password_hash = accounts.hash_password(DEMO_PASSWORD)  # argon2 is slow: hash once
        existing = {
            u.username: u
            for u in self.session.scalars(
                select(User).where(User.username.in_([n for n, *_ in DEMO_USERS]))
            )
        }
        east = self.units[0]
        for username, role, _note in DEMO_USERS:
            if username in existing:  # force=True into a database that has some of them
                self.users[username] = existing[username]
                continue
            display, code, title = USER_PROFILES[username]
            user = User(
                username=username,
                display_name=display,
                employee_code=code,
                email=f"{username}@huarui.example.com",
                password_hash=password_hash,
                roles=[roles[RoleName(role)]],
                leader_title=title,
                # Only the collector is scoped: to 华东事业部, so the demo shows row scoping.
                sales_units=[east] if role == RoleName.COLLECTOR.value else [],
            )
            self.users[username] = user
            self.session.add(user)
        self.session.flush()
        for unit in self.units:
            unit.vp_id = self.users["vp"].id  # Art.15: the VP copied on routing
        self.commit()

    def reference_lists(self) -> None:
        """Art.14 sub-reasons, Annex 6 materials and the published calendar years."""
        ensure_reference_data(self.session)
        self.commit()

    def _customer_name(self, regions: list[str], export: bool, taken: set[str]) -> str:
        trades = EXPORT_TRADES if export else NAME_TRADES
        while True:
            name = (
                self.rng.choice(regions)
                + self.rng.choice(NAME_CORES)
                + self.rng.choice(trades)
                + self.rng.choice(NAME_SUFFIXES)
            )
            if name not in taken:
                taken.add(name)
                return name

    def customers_and_contracts(self) -> None:
        rng = self.rng
        taken: set[str] = set()
        unit_of: list[int] = []
        for index, (*_, share, _regions) in enumerate(UNITS):
            unit_of += [index] * round(share * CUSTOMER_COUNT)
        unit_of = (unit_of + [0] * CUSTOMER_COUNT)[:CUSTOMER_COUNT]
        weights = [rng.choice([1, 1, 1, 2, 2, 3, 4, 6, 9]) for _ in unit_of]
        counts = [max(3, RECEIVABLE_COUNT * w // sum(weights)) for w in weights]
        counts[0] += RECEIVABLE_COUNT - sum(counts)  # exactly RECEIVABLE_COUNT in all

        rows: list[object] = []
        for n, (unit_index, count) in enumerate(zip(unit_of, counts, strict=True), start=1):
            unit = self.units[unit_index]
            _, code, _, _, regions = UNITS[unit_index]
            profile = rng.choices([GOOD, SLOW, BAD], weights=[70, 22, 8])[0]
            # The demo needs a few cases in the collector's own unit.
            if code == "EAST" and n % 19 == 0:
                profile = BAD
            rating = {
                GOOD: rng.choice([CreditRating.AAA, CreditRating.AA, CreditRating.A]),
                SLOW: rng.choice([CreditRating.A, CreditRating.B, CreditRating.C]),
                BAD: rng.choice([CreditRating.C, CreditRating.D]),
            }[profile]
            low, high = RATING_LIMITS[rating]
            status = {
                GOOD: rng.choice([FinancialStatus.UNKNOWN, FinancialStatus.GOOD_FUNDS]),
                SLOW: rng.choice(
                    [FinancialStatus.GOOD_FUNDS, FinancialStatus.POOR_FUNDS_GOOD_PROSPECTS]
                ),
                BAD: rng.choice(
                    [
                        FinancialStatus.POOR_FUNDS_GOOD_PROSPECTS,
                        FinancialStatus.POOR_FUNDS_POORLY_RUN,
                        FinancialStatus.MALICIOUS,
                    ]
                ),
            }[profile]
            region = rng.choice(regions)
            customer = Customer(
                company_id=unit.company_id,
                sales_unit_id=unit.id,
                erp_code=f"KH{unit_index + 1}{n:04d}",
                name=self._customer_name([region], code == "EXPORT", taken),
                contact_person=rng.choice(CONTACT_SURNAMES) + rng.choice(CONTACT_GIVEN),
                contact_phone=f"1{rng.choice('3589')}{rng.randint(0, 9)}"
                f"{rng.randint(1000_0000, 9999_9999)}",
                address=f"{region}{rng.choice(STREETS)}{rng.randint(1, 999)}号",
                credit_rating=rating,
                credit_limit=to_money(round(rng.uniform(low, high), -4)),
                financial_status=status,
            )
            plan = _CustomerPlan(customer=customer, unit=unit, profile=profile, count=count)
            if code == "EAST":
                plan.salesperson = USER_PROFILES["collector"][0]
            else:
                plan.salesperson = rng.choice(OTHER_SALESPEOPLE)
            if profile == BAD:
                plan.stopped_on = self.today - timedelta(days=rng.randint(240, 480))
            self.plans.append(plan)
            rows.append(customer)
        self.commit(rows)

        rows = []
        for plan in self.plans:
            rows += self._contracts(plan)
            rows += self._credit_history(plan)
        self.commit(rows)

    def _contracts(self, plan: _CustomerPlan) -> list[Contract]:
        rng = self.rng
        if rng.random() < 0.35:
            return []
        customer = plan.customer
        for _ in range(rng.choice([1, 1, 2, 3])):
            signed = self.today - timedelta(days=rng.randint(HISTORY_DAYS, HISTORY_DAYS + 400))
            seq = self.next_no(self.contract_seq, customer.company_id)
            kind = rng.choices(
                [PenaltyKind.DAILY_RATE, PenaltyKind.FIXED, PenaltyKind.NONE], weights=[5, 2, 3]
            )[0]
            contract = Contract(
                company_id=customer.company_id,
                sales_unit_id=customer.sales_unit_id,
                customer_id=customer.id,
                number=f"HT{signed.year}-{seq:04d}",
                title=rng.choice(
                    ["设备供货合同", "年度框架采购协议", "工程总承包合同", "备件供应协议"]
                ),
                signed_on=signed,
                payment_terms_days=rng.choice([30, 60, 90, 90, 120, 180]),
                penalty_kind=kind,
                # Art.3: 万分之五 a day is the usual liquidated-damages rate in these contracts.
                penalty_daily_rate=(
                    Decimal(rng.choice(["0.0003", "0.0005", "0.0005", "0.001"]))
                    if kind == PenaltyKind.DAILY_RATE
                    else None
                ),
                penalty_fixed=(
                    to_money(rng.choice([20000, 50000, 100000]))
                    if kind == PenaltyKind.FIXED
                    else None
                ),
            )
            plan.contracts.append(contract)
        return plan.contracts

    def _credit_history(self, plan: _CustomerPlan) -> list[CreditEvent]:
        customer = plan.customer
        credit_user = self.users["credit"].id
        events = [
            CreditEvent(
                company_id=customer.company_id,
                sales_unit_id=customer.sales_unit_id,
                customer_id=customer.id,
                kind=CreditEventKind.RATING,
                old_value=None,
                new_value=customer.credit_rating.value,
                reason="年度信用评审",
                user_id=credit_user,
                at=self.at(self.today - timedelta(days=HISTORY_DAYS)),
            )
        ]
        if plan.profile == BAD and plan.stopped_on and self.rng.random() < 0.5:
            # Art.10 (3): the president's office stops shipments, with a reason.
            held_on = min(self.today, plan.stopped_on + timedelta(days=120))
            reason = self.rng.choice(HOLD_REASONS)
            customer.shipment_hold = True
            customer.shipment_hold_reason = reason
            events.append(
                CreditEvent(
                    company_id=customer.company_id,
                    sales_unit_id=customer.sales_unit_id,
                    customer_id=customer.id,
                    kind=CreditEventKind.HOLD,
                    old_value="false",
                    new_value="true",
                    reason=reason,
                    user_id=credit_user,
                    at=self.at(held_on),
                )
            )
        return events

    # -- receivables and payments --------------------------------------------------------------

    def ledger(self) -> None:
        rows: list[object] = []
        for index, plan in enumerate(self.plans, start=1):
            rows += self._receivables(plan)
            rows += self._payments(plan)
            if index % CUSTOMERS_PER_COMMIT == 0:
                self.commit(rows)
                rows = []
        self.commit(rows)

    def _receivables(self, plan: _CustomerPlan) -> list[Receivable]:
        rng = self.rng
        customer = plan.customer
        first_due = self.today - timedelta(days=HISTORY_DAYS)
        last_due = self.today + timedelta(days=FUTURE_DAYS)
        if plan.stopped_on:  # no new business long after a customer stopped paying
            last_due = min(last_due, plan.stopped_on + timedelta(days=60))
        span = (last_due - first_due).days
        collector = self.users["collector"]
        for _ in range(plan.count):
            due = first_due + timedelta(days=rng.randint(0, span))
            kind = rng.choices(
                [ReceivableType.PRODUCT, ReceivableType.PROJECT, ReceivableType.FREIGHT],
                weights=[70, 12, 18],
            )[0]
            amount = {
                ReceivableType.PRODUCT: lambda: self.money(5_000, 800_000),
                ReceivableType.PROJECT: lambda: self.money(150_000, 2_000_000),
                ReceivableType.FREIGHT: lambda: self.money(5_000, 60_000),
            }[kind]()
            contract = rng.choice(plan.contracts) if plan.contracts else None
            terms = contract.payment_terms_days if contract else rng.choice([30, 60, 90])
            issue = due - timedelta(days=terms)
            prefix = {"product": "XS", "project": "GC", "freight": "YF"}[kind.value]
            seq = self.next_no(self.doc_seq, customer.company_id)
            mine = plan.salesperson == collector.display_name and rng.random() < 0.9
            plan.receivables.append(
                Receivable(
                    company_id=customer.company_id,
                    sales_unit_id=customer.sales_unit_id,
                    customer_id=customer.id,
                    contract=contract,
                    collector_id=collector.id if mine else None,
                    collector_name=collector.display_name if mine else plan.salesperson,
                    doc_no=f"{prefix}{issue:%Y%m}{seq:05d}",
                    doc_type=kind,
                    amount=amount,
                    currency="CNY",
                    issue_date=issue,
                    due_date=due,
                    paid_amount=Decimal("0.00"),
                    written_off_amount=Decimal("0.00"),
                    outstanding=amount,
                    status=ReceivableStatus.OPEN,
                )
            )
        plan.receivables.sort(key=lambda r: r.due_date)
        return plan.receivables

    def _pay_plan(
        self, plan: _CustomerPlan, rec: Receivable
    ) -> tuple[str, date | None, date | None]:
        """What happens to one receivable: ('full'|'partial'|'open', date received, date the
        rest of a partial payment arrives or None if it never does)."""
        rng = self.rng
        rest_after = rng.randint(20, 150)
        if plan.profile == GOOD:
            delay = rng.randint(-10, 35)
            outcome = rng.choices(["full", "partial"], weights=[95, 5])[0]
        elif plan.profile == SLOW:
            delay = rng.randint(20, 200)
            outcome = rng.choices(["full", "partial"], weights=[85, 15])[0]
            if outcome == "partial" and rng.random() < 0.05:
                rest_after = None  # a straggler that ends up long overdue
        else:
            delay = rng.randint(30, 120)
            rest_after = None
            if plan.stopped_on and rec.due_date + timedelta(days=delay) > plan.stopped_on:
                outcome = rng.choices(["partial", "open"], weights=[25, 75])[0]
                delay = min(delay, max(0, (plan.stopped_on - rec.due_date).days))
            else:
                outcome = "full"
        received = rec.due_date + timedelta(days=delay)
        if outcome == "open" or received > self.today:
            return "open", None, None
        rest_on = received + timedelta(days=rest_after) if rest_after else None
        if rest_on and rest_on > self.today:
            rest_on = None
        return outcome, received, rest_on

    def _payment(self, plan, received: date, amount: Decimal, **kw) -> Payment:
        customer = plan.customer
        seq = self.next_no(self.payment_seq, customer.company_id)
        kind = kw.pop("kind", PaymentKind.PAYMENT)
        prefix = "HZ" if kind == PaymentKind.CREDIT_NOTE else "SK"
        return Payment(
            company_id=customer.company_id,
            sales_unit_id=customer.sales_unit_id,
            customer_id=customer.id,
            payment_no=f"{prefix}{received:%Y%m%d}{seq:05d}",
            kind=kind,
            amount=amount,
            received_on=received,
            unallocated=Decimal("0.00"),
            **kw,
        )

    def _allocate(self, payment: Payment, rec: Receivable, amount: Decimal) -> PaymentAllocation:
        """Apply ``amount`` of ``payment`` to ``rec``, keeping paid/outstanding/status right."""
        rec.paid_amount += amount
        rec.outstanding = rec.amount - rec.paid_amount - rec.written_off_amount
        assert rec.outstanding >= 0, rec.doc_no
        if rec.outstanding == 0:
            rec.status = ReceivableStatus.SETTLED
            rec.settled_on = payment.received_on
        return PaymentAllocation(payment=payment, receivable=rec, amount=amount)

    def _payments(self, plan: _CustomerPlan) -> list[object]:
        rng = self.rng
        rows: list[object] = []
        pending: tuple[Payment, list[Receivable]] | None = None  # a payment covering several
        for rec in plan.receivables:
            outcome, received, rest_on = self._pay_plan(plan, rec)
            if outcome == "full":
                assert received is not None
                # Good payers often settle two or three documents with one transfer; the
                # allocation then goes oldest first, as the payer named no document.
                if pending and rng.random() < 0.6 and len(pending[1]) < 3:
                    payment, covered = pending
                    payment.amount += rec.outstanding
                    payment.received_on = max(payment.received_on, received)
                    payment.doc_no_ref = None
                    covered.append(rec)
                    continue
                self._settle_pending(pending, rows)
                payment = self._payment(plan, received, rec.outstanding, doc_no_ref=rec.doc_no)
                pending = (payment, [rec])
                if plan.profile != GOOD or rng.random() < 0.8:
                    self._settle_pending(pending, rows)
                    pending = None
            elif outcome == "partial":
                assert received is not None
                share = Decimal(str(rng.choice([0.2, 0.3, 0.4, 0.5, 0.6, 0.7])))
                part = to_money(rec.amount * share)
                payment = self._payment(
                    plan, received, part, doc_no_ref=rec.doc_no, note="部分回款"
                )
                rows += [payment, self._allocate(payment, rec, part)]
            if (
                self.credit_notes_left
                and outcome != "full"  # a full payment's amount is fixed already
                and rec.status == ReceivableStatus.OPEN
                and rec.doc_type == ReceivableType.PRODUCT
                and rec.due_date < self.today - timedelta(days=45)
                and rng.random() < 0.08
            ):
                rows += self._credit_note(plan, rec)
            if outcome == "partial" and rest_on:
                payment = self._payment(
                    plan, rest_on, rec.outstanding, doc_no_ref=rec.doc_no, note="尾款"
                )
                rows += [payment, self._allocate(payment, rec, rec.outstanding)]
        self._settle_pending(pending, rows)
        if not self.overpayment_done and plan.profile == GOOD:
            rows += self._overpayment(plan)
        return rows

    def _settle_pending(self, pending, rows: list[object]) -> None:
        if not pending:
            return
        payment, covered = pending
        rows.append(payment)
        for rec in sorted(covered, key=lambda r: r.due_date):
            rows.append(self._allocate(payment, rec, rec.outstanding))

    def _credit_note(self, plan: _CustomerPlan, rec: Receivable) -> list[object]:
        """红字发票: a price difference (单价差异, Art.15) credited against the document."""
        self.credit_notes_left -= 1
        amount = min(rec.outstanding, to_money(rec.amount * Decimal("0.05")))
        issued = min(self.today, rec.due_date + timedelta(days=30))
        note = self._payment(
            plan,
            issued,
            amount,
            kind=PaymentKind.CREDIT_NOTE,
            doc_no_ref=rec.doc_no,
            note="单价差异, 开具红字发票折让",
        )
        return [note, self._allocate(note, rec, amount)]

    def _overpayment(self, plan: _CustomerPlan) -> list[object]:
        """One customer paid more than it owed in all: the surplus stays unallocated.

        The payment clears every open receivable of the customer first, as the allocation
        service would (oldest first), so the surplus has nothing left to go to.
        """
        open_recs = [r for r in plan.receivables if r.status == ReceivableStatus.OPEN]
        if not open_recs or open_recs[0].due_date > self.today:
            return []
        surplus = Decimal("8800.00")
        owed = sum((r.outstanding for r in open_recs), Decimal("0.00"))
        payment = self._payment(
            plan,
            self.today - timedelta(days=3),
            owed + surplus,
            note="客户多付货款, 待退回或冲抵下期货款",
        )
        rows: list[object] = [payment]
        rows += [self._allocate(payment, r, r.outstanding) for r in open_recs]
        payment.unallocated = surplus
        self.overpayment_done = True
        return rows

    # -- cases ---------------------------------------------------------------------------------

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
            case_no=f"QS{filed.year}-{seq:04d}",
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
