"""The demo builder: shared state and helpers, and the order of the steps."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from math import exp, log

from backoffice.extensions import db
from backoffice.models.base import CENT, SHANGHAI
from backoffice.models.org import Company, SalesUnit
from backoffice.models.user import User
from backoffice.services.demo.cases import CaseSteps
from backoffice.services.demo.data import RANDOM_SEED, _CustomerPlan
from backoffice.services.demo.ledger import LedgerSteps
from backoffice.services.demo.org import OrgSteps
from backoffice.services.demo.story import StorySteps


class DemoBuilder(OrgSteps, LedgerSteps, CaseSteps, StorySteps):
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
        self.story()
