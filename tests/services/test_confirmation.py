"""The confirmation round-trip (Art.13–15): answers, submit, return, routing with copies."""

from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from backoffice.models import ConfirmationForm, Notification, OverdueReason, Task
from backoffice.models.monthly import FormStatus, ReasonClass, Route, RouteHint
from backoffice.models.notification import TaskKind
from backoffice.services import confirmation as conf
from backoffice.services.reference import ensure_reference_data
from jobs.monthly import run_period
from tests import helpers


@pytest.fixture(autouse=True)
def english(db):
    """ConfirmationError messages are translated when raised; these tests match the English."""
    with force_locale("en"):
        yield


@pytest.fixture()
def form(ledger, db):
    ensure_reference_data(db.session)
    db.session.commit()
    run_period("2026-10", inline=True)
    return db.session.scalar(
        select(ConfirmationForm).where(ConfirmationForm.sales_unit_id == ledger["east"].id)
    )


def reason(db, label):
    return db.session.scalar(select(OverdueReason).where(OverdueReason.label == label))


def answer(db, line, label, cls, amount="1000", when=date(2026, 11, 30)):
    conf.answer_line(
        db.session, line, conf.Answer(cls, reason(db, label).id, Decimal(amount), when)
    )


@pytest.mark.parametrize(
    ("cls", "hint", "route"),
    [
        (ReasonClass.INTERNAL, RouteHint.BOOKKEEPING, Route.FINANCE),
        (ReasonClass.INTERNAL, RouteHint.INTERNAL_OTHER, Route.COLLECTOR),
        (ReasonClass.EXTERNAL, RouteHint.COMMERCIAL, Route.DIVISION_COLLECTOR),
        (ReasonClass.EXTERNAL, RouteHint.UNJUSTIFIED, Route.COLLECT),
        (ReasonClass.BOTH, RouteHint.COMMERCIAL, Route.FINANCE_THEN_SPLIT),
    ],
)
def test_routes_follow_article_15(cls, hint, route):
    """Each reason class and sub-reason proposes the route Art.15 prescribes."""
    assert conf.propose_route(cls, hint) is route


def test_answer_validation(form, db):
    """Answers are checked: reason matches its class, amount within the outstanding, date
    not before the form."""
    line = form.lines[0]
    with pytest.raises(conf.ConfirmationError, match="not a reason of class"):
        answer(db, line, "单价差异", ReasonClass.INTERNAL)
    with pytest.raises(conf.ConfirmationError, match="between 0"):
        answer(db, line, "单价差异", ReasonClass.EXTERNAL, amount="999999999")
    with pytest.raises(conf.ConfirmationError, match="before the form"):
        answer(db, line, "单价差异", ReasonClass.EXTERNAL, when=date(2026, 1, 1))
    for raw in ("abc", "1,2,3", "1E30", "NaN"):  # the import's amount grammar
        with pytest.raises(conf.ConfirmationError):
            conf.parse_answer(
                {
                    "reason_class": "external",
                    "sub_reason_id": "1",
                    "estimated_recoverable": raw,
                    "expected_date": "2026-11-30",
                }
            )
    parsed = conf.parse_answer(
        {
            "reason_class": "external",
            "sub_reason_id": "1",
            "estimated_recoverable": "¥1,234.50",
            "expected_date": "2026-11-30",
        }
    )
    assert parsed.estimated_recoverable == Decimal("1234.50")


def test_submit_return_resubmit_and_route(form, ledger, db):
    """A form is answered and submitted (locked), returned by finance (unlocked),
    re-answered, resubmitted and routed: assignees get tasks with the VP copied."""
    finance = helpers.make_user("finance")
    vp = helpers.make_user("leader")
    ledger["east"].vp_id = vp.id
    collector_id = db.session.scalar(
        select(Task.assignee_id).where(
            Task.kind == TaskKind.ANSWER_FORM, Task.subject_id == form.id
        )
    )
    with pytest.raises(conf.ConfirmationError, match="not answered"):
        conf.submit(db.session, form, collector_id, date(2026, 10, 12))
    answer(db, form.lines[0], "财务记账差异", ReasonClass.INTERNAL)
    conf.submit(db.session, form, collector_id, date(2026, 10, 12))
    db.session.commit()
    assert form.status is FormStatus.SUBMITTED
    assert form.routing_due == date(2026, 10, 15)  # 3 working days after Monday 12th
    with pytest.raises(conf.ConfirmationError, match="submitted"):
        answer(db, form.lines[0], "客户无故拖欠货款", ReasonClass.EXTERNAL)
    conf.return_form(db.session, form, "金额有误，请核对")
    db.session.commit()
    assert form.status is FormStatus.RETURNED
    answer(db, form.lines[0], "客户无故拖欠货款", ReasonClass.EXTERNAL)
    conf.submit(db.session, form, collector_id, date(2026, 10, 13))
    opened = conf.route_form(db.session, form, finance.id)
    db.session.commit()
    assert opened == 1 and form.status is FormStatus.ROUTED
    line = form.lines[0]
    assert line.route is Route.COLLECT and line.assignee_id == collector_id
    task = db.session.scalar(select(Task).where(Task.kind == TaskKind.FOLLOW_UP))
    assert task.assignee_id == collector_id and vp.id in task.cc_user_ids
    told = set(
        db.session.scalars(
            select(Notification.user_id).where(Notification.dedup_key == f"routed:{line.id}")
        )
    )
    assert {collector_id, vp.id} <= told
    # The route task for finance is closed once routed.
    assert (
        db.session.scalar(
            select(Task.done_at).where(
                Task.kind == TaskKind.ROUTE_FORM, Task.assignee_id == finance.id
            )
        )
        is not None
    )


def test_finance_may_override_the_proposed_route(form, db):
    """Finance confirms or changes each route."""
    finance = helpers.make_user("finance")
    answer(db, form.lines[0], "客户无故拖欠货款", ReasonClass.EXTERNAL)
    conf.submit(db.session, form, finance.id, date(2026, 10, 12))
    conf.route_form(db.session, form, finance.id, {form.lines[0].id: Route.FINANCE})
    assert form.lines[0].route is Route.FINANCE and form.lines[0].assignee_id == finance.id
