"""Generate a large ledger fast (Core bulk inserts): companies, units, customers, receivables.

Used by bench/run.py. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select

from backoffice.extensions import db
from backoffice.models import Company, Customer, Receivable, SalesUnit
from backoffice.models.base import utcnow
from backoffice.services.ledger_cache import bump_ledger_version

PREFIXES = "华中东新宏恒金盛鑫永泰瑞博天海"
MIDDLES = "达信远丰利源诚茂安祥通联创和昌"
SUFFIXES = ["机械", "电气", "化工", "建材", "物流", "科技", "工程", "贸易", "钢铁", "能源"]


def customer_name(i: int) -> str:
    return (f"{PREFIXES[i % 15]}{MIDDLES[(i // 15) % 15]}{SUFFIXES[(i // 225) % 10]}"
            f"有限公司{i:05d}")


def ensure_org() -> tuple[list[int], list[tuple[int, int]]]:
    """Two companies and eight units; returns company ids and (unit id, company id) pairs."""
    if db.session.scalar(select(func.count()).select_from(Company)) == 0:
        db.session.add_all([Company(code="BC1", name="华锐重工集团"),
                            Company(code="BC2", name="华锐物流有限公司")])
        db.session.commit()
    companies = db.session.scalars(select(Company.id).order_by(Company.id)).all()
    if db.session.scalar(select(func.count()).select_from(SalesUnit)) == 0:
        for i in range(8):
            db.session.add(SalesUnit(company_id=companies[i % 2], code=f"BU{i}",
                                     name=f"第{i + 1}事业部"))
        db.session.commit()
    units = db.session.execute(select(SalesUnit.id, SalesUnit.company_id)
                               .order_by(SalesUnit.id)).all()
    return companies, [(u.id, u.company_id) for u in units]


def add_customers(n: int, batch: int = 10_000) -> None:
    _, units = ensure_org()
    have = db.session.scalar(select(func.count()).select_from(Customer))
    now = utcnow()
    conn = db.session.connection()
    for start in range(have, n, batch):
        rows = []
        for i in range(start, min(n, start + batch)):
            unit_id, company_id = units[i % len(units)]
            rows.append({"company_id": company_id, "sales_unit_id": unit_id,
                         "erp_code": f"K{i:06d}", "name": customer_name(i),
                         "shipment_hold": False, "financial_status": "unknown",
                         "from_import": False, "created_at": now, "updated_at": now,
                         "credit_limit": Decimal(500_000)})
        conn.execute(insert(Customer), rows)
    db.session.commit()


def add_receivables(total: int, batch: int = 20_000, seed: int = 7) -> None:
    """Top the receivable table up to ``total`` rows (customers must exist)."""
    have = db.session.scalar(select(func.count()).select_from(Receivable))
    customers = db.session.execute(
        select(Customer.id, Customer.company_id, Customer.sales_unit_id).order_by(Customer.id)
    ).all()
    rng = random.Random(seed + have)
    today = date.today()
    now = utcnow()
    conn = db.session.connection()
    for start in range(have, total, batch):
        rows = []
        for i in range(start, min(total, start + batch)):
            cust = customers[rng.randrange(len(customers))]
            amount = Decimal(rng.randrange(500_000, 200_000_000)) / 100
            paid = amount if rng.random() < 0.55 else (
                (amount * rng.randrange(0, 90) / 100).quantize(Decimal("0.01")))
            due = today - timedelta(days=rng.randrange(-90, 730))
            outstanding = amount - paid
            rows.append({
                "company_id": cust.company_id, "sales_unit_id": cust.sales_unit_id,
                "customer_id": cust.id, "doc_no": f"INV{i:08d}", "doc_type": "product",
                "amount": amount, "currency": "CNY", "issue_date": due - timedelta(days=60),
                "due_date": due, "paid_amount": paid, "written_off_amount": Decimal(0),
                "outstanding": outstanding,
                "status": "open" if outstanding > 0 else "settled",
                "created_at": now, "updated_at": now,
            })
        conn.execute(insert(Receivable), rows)
        bump_ledger_version(db.session)  # Core inserts skip the ORM hooks
        db.session.commit()
        conn = db.session.connection()
