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

from datetime import date

from sqlalchemy import func, select, text

from backoffice.extensions import db
from backoffice.models.org import Company
from backoffice.models.user import User
from backoffice.services.demo.data import COMPANIES, DEMO_PASSWORD, DEMO_USERS, add_months

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "add_months", "demo_data_present", "seed_demo_data"]


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
    from backoffice.services.demo.builder import DemoBuilder

    try:
        DemoBuilder(date.today()).build()
        # Planner statistics for the fresh tables: without them SQLite picks the (status,
        # due_date) index for per-customer look-ups and the customers list costs 5× its CPU.
        session.execute(text("ANALYZE"))
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        real_session.expire_on_commit = expire
    return True
