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


# --- builders for the security tests (permission matrix, scoping) -------------------------


def make_payment(customer: Customer | None = None, amount="100.00", **kw):
    from backoffice.models import Payment

    customer = customer or make_customer()
    n = next(_seq)
    payment = Payment(
        company_id=customer.company_id,
        sales_unit_id=customer.sales_unit_id,
        customer_id=customer.id,
        payment_no=kw.pop("payment_no", f"PAY{n:06d}"),
        amount=Decimal(str(amount)),
        unallocated=Decimal("0"),
        received_on=kw.pop("received_on", date(2026, 2, 1)),
        **kw,
    )
    db.session.add(payment)
    db.session.commit()
    return payment


def make_case(customer: Customer | None = None, **kw):
    from backoffice.models.case import CaseOrigin, CaseStatus, CollectionCase

    customer = customer or make_customer()
    n = next(_seq)
    case = CollectionCase(
        company_id=customer.company_id,
        sales_unit_id=customer.sales_unit_id,
        customer_id=customer.id,
        case_no=kw.pop("case_no", f"AJ{n:06d}"),
        origin=kw.pop("origin", CaseOrigin.APPLICATION),
        status=kw.pop("status", CaseStatus.FILED),
        **kw,
    )
    db.session.add(case)
    db.session.commit()
    return case


def make_evidence(case=None, name: str = "凭证.pdf", **kw):
    from backoffice.models.evidence import DocumentType, EvidenceDocument

    case = case or make_case()
    n = next(_seq)
    doc = EvidenceDocument(
        company_id=case.company_id,
        sales_unit_id=case.sales_unit_id,
        case_id=case.id,
        doc_type=kw.pop("doc_type", DocumentType.OTHER),
        original_name=name,
        storage_key=f"test/{n:08d}",
        size=3,
        content_type="application/pdf",
        sha256="0" * 64,
        **kw,
    )
    db.session.add(doc)
    db.session.commit()
    return doc


class FreshContextClient:
    """Mixin for a test client whose every request runs in an app context of its own.

    The ``db`` fixture keeps an app context pushed for the whole test, and Flask reuses it for
    requests, so ``g`` (where Flask-Login caches the current user) and the database session
    leak from one request, and one client, to the next. Security tests need each request to
    stand alone, as it does in production.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def fresh_client(app):
    """A test client whose requests do not share ``g`` or the database session."""
    cls = type("FreshClient", (FreshContextClient, app.test_client_class or _flask_client()), {})
    return cls(app, app.response_class, use_cookies=True)


def _flask_client():
    from flask.testing import FlaskClient

    return FlaskClient


def race(app, work, processes: int = 2) -> list:
    """Run ``work(n, together)`` in ``processes`` forked processes at once, each with its own
    database connections, and return what each returned (in order of ``n``).

    ``together()`` is a barrier: every process waits there until all have reached it, so a
    test can have both read a record before either decides on it. Fails unless every process
    finished cleanly.
    """
    import multiprocessing
    import os

    ctx = multiprocessing.get_context("fork")
    start, barrier, results = ctx.Event(), ctx.Barrier(processes, timeout=60), ctx.Queue()

    def child(n: int) -> None:
        code = 1
        try:
            with app.app_context():
                db.engine.dispose(close=False)  # never touch the parent's connections
                start.wait(30)
                results.put((n, work(n, barrier.wait)))
                code = 0
        finally:
            results.close()
            results.join_thread()  # flush the result before the process vanishes
            os._exit(code)

    db.session.commit()  # the children see the test's data; the session lets go of its connection
    db.engine.dispose()  # the children open their own connections
    procs = [ctx.Process(target=child, args=(n,)) for n in range(processes)]
    for proc in procs:
        proc.start()
    start.set()
    for proc in procs:
        proc.join(120)
    assert [p.exitcode for p in procs] == [0] * processes
    out = dict(results.get(timeout=10) for _ in procs)
    return [out[n] for n in range(processes)]
