"""Demo steps: companies, units, users, reference lists, customers, contracts, credit history
and the collection targets (Art.29)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from backoffice.models.base import to_money
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
    PenaltyKind,
)
from backoffice.models.setting import Target
from backoffice.models.user import RoleName, User
from backoffice.services import accounts
from backoffice.services.demo import data
from backoffice.services.demo.data import (
    BAD,
    COMPANIES,
    CONTACT_GIVEN,
    CONTACT_SURNAMES,
    DEMO_PASSWORD,
    DEMO_USERS,
    EXPORT_TRADES,
    GOOD,
    HISTORY_DAYS,
    HOLD_REASONS,
    NAME_CORES,
    NAME_SUFFIXES,
    NAME_TRADES,
    OTHER_SALESPEOPLE,
    RATING_LIMITS,
    SLOW,
    STREETS,
    UNITS,
    USER_PROFILES,
    _CustomerPlan,
)
from backoffice.services.reference import ensure_reference_data


class OrgSteps:
    """Mixed into ``DemoBuilder``."""

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
        # Read at run time, so a test can seed a smaller set (tests/services/test_demo.py).
        for index, (*_, share, _regions) in enumerate(UNITS):
            unit_of += [index] * round(share * data.CUSTOMER_COUNT)
        unit_of = (unit_of + [0] * data.CUSTOMER_COUNT)[: data.CUSTOMER_COUNT]
        weights = [rng.choice([1, 1, 1, 2, 2, 3, 4, 6, 9]) for _ in unit_of]
        counts = [max(3, data.RECEIVABLE_COUNT * w // sum(weights)) for w in weights]
        counts[0] += data.RECEIVABLE_COUNT - sum(counts)  # exactly data.RECEIVABLE_COUNT in all

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
                    old_value="0",  # as credit.hold_shipments records it
                    new_value="1",
                    reason=reason,
                    user_id=credit_user,
                    at=self.at(held_on),
                )
            )
        return events

    # -- receivables and payments --------------------------------------------------------------

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
                    Target(
                        company_id=unit.company_id,
                        sales_unit_id=unit.id,
                        period=period,
                        base_amount=base,
                        note="演示数据",
                    )
                )
            month_end = month_end.replace(day=1) - timedelta(days=1)
        self.commit(rows)
