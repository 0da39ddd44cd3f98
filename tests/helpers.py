"""Data builders and small helpers shared by the tests."""

from __future__ import annotations

import itertools
import re
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import Company, Customer, Receivable, Role, RoleName, SalesUnit, User
from backoffice.services import accounts

PASSWORD = "test-pass-123"
_seq = itertools.count(1)
_hash_cache: dict[str, str] = {}


def _password_hash() -> str:
    # argon2 is slow on purpose; hash the shared test password once.
    if PASSWORD not in _hash_cache:
        _hash_cache[PASSWORD] = accounts.hash_password(PASSWORD)
    return _hash_cache[PASSWORD]


def make_company(code: str | None = None, name: str | None = None) -> Company:
    n = next(_seq)
    company = Company(code=code or f"C{n}", name=name or f"测试公司{n}")
    db.session.add(company)
    db.session.commit()
    return company


def make_unit(company: Company | None = None, code: str | None = None, name: str | None = None):
    company = company or make_company()
    n = next(_seq)
    unit = SalesUnit(company_id=company.id, code=code or f"U{n}", name=name or f"事业部{n}")
    db.session.add(unit)
    db.session.commit()
    return unit


def make_customer(unit: SalesUnit | None = None, name: str | None = None, **kw) -> Customer:
    unit = unit or make_unit()
    n = next(_seq)
    customer = Customer(
        company_id=unit.company_id,
        sales_unit_id=unit.id,
        erp_code=kw.pop("erp_code", f"K{n:05d}"),
        name=name or f"客户{n}有限公司",
        **kw,
    )
    db.session.add(customer)
    db.session.commit()
    return customer


def make_receivable(
    customer: Customer | None = None,
    amount="1000.00",
    due=date(2026, 1, 31),
    doc_no: str | None = None,
    **kw,
) -> Receivable:
    customer = customer or make_customer()
    n = next(_seq)
    amount = Decimal(str(amount))
    rec = Receivable(
        company_id=customer.company_id,
        sales_unit_id=customer.sales_unit_id,
        customer_id=customer.id,
        doc_no=doc_no or f"INV{n:06d}",
        amount=amount,
        outstanding=amount - Decimal(str(kw.pop("paid_amount", 0))),
        due_date=due,
        **kw,
    )
    db.session.add(rec)
    db.session.commit()
    return rec


def make_user(*roles: str, units=(), username: str | None = None, **kw) -> User:
    existing = accounts.ensure_roles(db.session)
    db.session.flush()
    n = next(_seq)
    user = User(
        username=username or f"{'-'.join(roles) or 'user'}{n}",
        display_name=kw.pop("display_name", f"用户{n}"),
        password_hash=_password_hash(),
        roles=[existing[RoleName(r)] for r in roles],
        sales_units=list(units),
        **kw,
    )
    db.session.add(user)
    db.session.commit()
    return user


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(client, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no csrf_token on {path}"
    return match.group(1) or match.group(2)


def login(client, username: str, password: str = PASSWORD):
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def role(name: str) -> Role:
    return db.session.scalar(select(Role).where(Role.name == RoleName(name)))
