"""Art.15 (3) and Annex 5: a line with both internal and external reasons is verified by
finance, split into its two parts, and each part routed by its own rule; the routing page
shows the Annex 5 methods table."""

from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from backoffice.models import ConfirmationForm, ConfirmationLinePart, OverdueReason, Task
from backoffice.models.monthly import ReasonClass, Route
from backoffice.models.notification import TaskKind
from backoffice.services import confirmation as conf
from backoffice.services import confirmation_split as split
from backoffice.services.reference import ensure_reference_data
from jobs.monthly import run_period
from tests import helpers
from tests.services.test_report_dispatch import client_as

D = Decimal


def reason(db, label):
    return db.session.scalar(select(OverdueReason).where(OverdueReason.label == label)).id


@pytest.fixture()
def routed(ledger, db):
    """East's form: its one line (INV-A1, 100,000.00) answered "both", submitted and routed."""
    ensure_reference_data(db.session)
    db.session.commit()
    run_period("2026-10", inline=True)
    form = db.session.scalar(
        select(ConfirmationForm).where(ConfirmationForm.sales_unit_id == ledger["east"].id)
    )
    finance = helpers.make_user("finance")
    (line,) = form.lines
    conf.answer_line(
        db.session,
        line,
        conf.Answer(ReasonClass.BOTH, reason(db, "单价差异"), D("60000"), date(2026, 12, 31)),
    )
    conf.submit(db.session, form, 1, date(2026, 10, 12))
    conf.route_form(db.session, form, finance.id)
    db.session.commit()
    assert line.route is Route.FINANCE_THEN_SPLIT
    return {"form": form, "line": line, "finance": finance}


def parts(db, internal="30000.00", external="70000.00"):
    return [
        split.PartInput(ReasonClass.INTERNAL, reason(db, "财务记账差异"), D(internal)),
        split.PartInput(ReasonClass.EXTERNAL, reason(db, "客户无故拖欠货款"), D(external)),
    ]


def test_each_part_is_routed_by_its_own_rule(db, routed):
    """The internal bookkeeping part goes to finance, the unjustified-delay part to the
    collector; each has its task; finance's task for the whole line closes."""
    line, finance = routed["line"], routed["finance"]
    made = split.split_line(db.session, line, parts(db), finance.id)
    db.session.commit()
    routes = {p.reason_class: (p.route, p.amount) for p in made}
    assert routes == {
        ReasonClass.INTERNAL: (Route.FINANCE, D("30000.00")),
        ReasonClass.EXTERNAL: (Route.COLLECT, D("70000.00")),
    }
    internal = next(p for p in made if p.reason_class is ReasonClass.INTERNAL)
    external = next(p for p in made if p.reason_class is ReasonClass.EXTERNAL)
    assert internal.assignee_id == finance.id and external.assignee_id not in (None, finance.id)
    tasks = db.session.scalars(
        select(Task).where(Task.subject_type == "confirmation_line_part")
    ).all()
    assert {(t.subject_id, t.assignee_id) for t in tasks} == {
        (internal.id, finance.id),
        (external.id, external.assignee_id),
    }
    whole = db.session.scalar(
        select(Task).where(
            Task.kind == TaskKind.FOLLOW_UP,
            Task.subject_type == "confirmation_line",
            Task.subject_id == line.id,
        )
    )
    assert whole.done_at is not None


def test_the_split_is_refused_unless_whole_and_once(db, routed):
    """Parts must add up to the outstanding, one of each class with a reason of its class,
    and a line is split once."""
    line, uid = routed["line"], routed["finance"].id
    with force_locale("en"):
        with pytest.raises(conf.ConfirmationError, match="add up to 99,999.00"):
            split.split_line(db.session, line, parts(db, external="69999.00"), uid)
        db.session.rollback()
        wrong = [
            parts(db)[0],
            split.PartInput(ReasonClass.INTERNAL, reason(db, "财务记账差异"), D("1")),
        ]
        with pytest.raises(conf.ConfirmationError, match="one internal and one external"):
            split.split_line(db.session, line, wrong, uid)
        db.session.rollback()
        swapped = [
            split.PartInput(ReasonClass.INTERNAL, reason(db, "品质问题"), D("30000")),
            parts(db)[1],
        ]
        with pytest.raises(conf.ConfirmationError, match="specific reason of class"):
            split.split_line(db.session, line, swapped, uid)
        db.session.rollback()
        split.split_line(db.session, line, parts(db), uid)
        db.session.commit()
        with pytest.raises(conf.ConfirmationError, match="split already"):
            split.split_line(db.session, line, parts(db), uid)
    db.session.rollback()
    assert db.session.query(ConfirmationLinePart).count() == 2


def test_finance_splits_on_the_page_and_routing_shows_annex_5(app, db, routed):
    """Finance opens the routing page (Annex 5 table and a split button), splits the line on
    its page, and the routing page then lists both parts."""
    line, form = routed["line"], routed["form"]
    client = client_as(app, "finance")
    page = client.get(f"/admin/confirmation_form/route/{form.id}").get_data(as_text=True)
    assert 'id="annex5"' in page and "第十五条第2款②" in page
    assert f"/admin/confirmation_form/split/{line.id}" in page
    token = helpers.csrf_token(client, f"/admin/confirmation_form/split/{line.id}")
    data = {
        "csrf_token": token,
        "internal.sub_reason_id": reason(db, "财务记账差异"),
        "internal.amount": "30,000.00",
        "external.sub_reason_id": reason(db, "客户无故拖欠货款"),
        "external.amount": "70000",
    }
    response = client.post(f"/admin/confirmation_form/split/{line.id}", data=data)
    assert response.status_code == 303
    page = client.get(f"/admin/confirmation_form/route/{form.id}").get_data(as_text=True)
    assert page.count('class="small qq-part"') == 2
    assert db.session.query(ConfirmationLinePart).count() == 2


def test_a_collector_cannot_split(app, db, routed, ledger):
    """Splitting is finance's routing: a collector of the unit gets 403 and nothing changes."""
    line = routed["line"]
    client = client_as(app, "collector", units=[ledger["east"]])
    assert client.get(f"/admin/confirmation_form/split/{line.id}").status_code == 403
    token = helpers.csrf_token(client, "/admin/confirmation_form/")
    response = client.post(
        f"/admin/confirmation_form/split/{line.id}",
        data={"csrf_token": token, "internal.amount": "1"},
    )
    assert response.status_code == 403
    assert db.session.query(ConfirmationLinePart).count() == 0
