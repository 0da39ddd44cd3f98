"""``flask --app app escalate``: a customer walks from overdue to the watch list (3 months) to a
compulsory case with its filing notice (6 months); running twice files nothing twice."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from backoffice.models import CollectionCase, DocumentRequirement, WatchListEntry
from backoffice.models.case import CaseOrigin, CaseStatus
from backoffice.services import cases
from backoffice.services.calendar import load_year
from backoffice.services.storage import get_storage
from tests import helpers


@pytest.fixture()
def runner(app, db):
    load_year(db.session, 2026)
    db.session.commit()
    return app.test_cli_runner()


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_escalate_walks_a_customer_to_watch_list_then_compulsory_case(runner, db):
    """Due 31 Jan: 2 months nothing, over 3 months watch list, over 6 months a compulsory case
    with its filing notice and checklist; the second run the same day files nothing."""
    unit = helpers.make_unit(name="华东事业部")
    helpers.make_user("team_lead")
    customer = helpers.make_customer(unit, name="苏州恒达机械有限公司")
    helpers.make_receivable(customer, amount="50000", due=date(2026, 1, 31), doc_no="INV-C1")

    out = runner.invoke(args=["escalate", "--as-of", "2026-03-31"])
    assert out.exit_code == 0, out.output
    assert "0 customer(s) on the watch list, 0 case(s) filed" in out.output
    assert count(db, WatchListEntry) == 0

    out = runner.invoke(args=["escalate", "--as-of", "2026-05-01"])
    assert out.exit_code == 0, out.output
    assert "1 customer(s) on the watch list, 0 case(s) filed" in out.output
    db.session.expire_all()
    assert count(db, WatchListEntry) == 1 and count(db, CollectionCase) == 0

    out = runner.invoke(args=["escalate", "--as-of", "2026-08-01"])
    assert out.exit_code == 0, out.output
    db.session.expire_all()
    case = db.session.scalar(select(CollectionCase))
    assert f"1 case(s) filed: {case.case_no}" in out.output
    assert case.origin is CaseOrigin.COMPULSORY and case.customer_id == customer.id
    assert case.status is CaseStatus.DOCUMENTS_REQUESTED and case.filed_on == date(2026, 8, 1)
    assert count(db, DocumentRequirement) == len(cases.CHECKLIST)
    with get_storage().open(case.filing_notice_key) as fh:
        assert fh.read(4) == b"%PDF"

    again = runner.invoke(args=["escalate", "--as-of", "2026-08-01"])
    assert again.exit_code == 0, again.output
    assert "0 case(s) filed" in again.output
    db.session.expire_all()
    assert count(db, CollectionCase) == 1 and count(db, WatchListEntry) == 2


def test_escalate_defaults_to_today_and_rejects_a_bad_date(runner, db):
    """Without --as-of it runs as of today; a malformed date is a usage error."""
    out = runner.invoke(args=["escalate"])
    assert out.exit_code == 0, out.output
    assert "0 case(s) filed" in out.output
    bad = runner.invoke(args=["escalate", "--as-of", "2026-13-01"])
    assert bad.exit_code == 2 and "--as-of" in bad.output
