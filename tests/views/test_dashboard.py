"""The dashboard: totals by bucket, class, company and unit; trend; scope; numbers match lists."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from backoffice.models import Payment
from backoffice.models.notification import Task, TaskKind
from backoffice.services import aging, payments
from backoffice.services.dashboard import dashboard_data, month_ends
from tests import helpers

# These tests are about the figures themselves: without Redis they are always current. The
# shared Redis cache, with its "截至 hh:mm" stale view, is tested in test_dashboard_cache.py.
pytestmark = pytest.mark.usefixtures("no_redis")

TODAY = date.today()


def _pay(db, customer, amount, received):
    payment = Payment(
        company_id=customer.company_id,
        sales_unit_id=customer.sales_unit_id,
        customer_id=customer.id,
        payment_no=f"D-{customer.id}-{received}",
        amount=D(amount),
        received_on=received,
    )
    db.session.add(payment)
    payments.allocate(db.session, payment)
    db.session.commit()
    return payment


def _ledger(db):
    unit_a, unit_b = helpers.make_unit(name="华东事业部"), helpers.make_unit(name="华南事业部")
    a1 = helpers.make_customer(unit_a, name="甲客户")
    b1 = helpers.make_customer(unit_b, name="乙客户")
    helpers.make_receivable(a1, amount="100", due=TODAY + timedelta(days=3))
    helpers.make_receivable(a1, amount="200", due=TODAY - timedelta(days=40))
    helpers.make_receivable(a1, amount="300", due=TODAY - timedelta(days=120))
    helpers.make_receivable(b1, amount="5000", due=TODAY - timedelta(days=400))
    helpers.make_receivable(b1, amount="700", due=TODAY - timedelta(days=10))
    _pay(db, b1, "1000", TODAY - timedelta(days=1))  # 5000 → 4000 outstanding
    return unit_a, unit_b


def test_totals_by_bucket_class_company_and_unit(db):
    """Totals are right by hand, per bucket, class, company and unit."""
    unit_a, unit_b = _ledger(db)
    user = helpers.make_user("finance")
    data = dashboard_data(user, TODAY)
    assert data["outstanding"] == D("5300.00")  # 100 + 200 + 300 + 4000 + 700
    assert data["overdue"] == D("5200.00")
    buckets = {m: v for m, v in data["buckets"]}
    assert buckets[aging.Bucket.NOT_DUE] == D("100.00")
    assert buckets[aging.Bucket.OVER_6M] == D("4000.00")
    assert buckets[aging.Bucket.UP_TO_3M] + buckets[aging.Bucket.M3_TO_6] == D("1200.00")
    classes = {m: v for m, v, _ in data["classes"]}
    assert classes[aging.DebtClass.NORMAL] == D("100.00")
    assert classes[aging.DebtClass.STAGNANT] == D("4000.00")
    units = {name: (out, over) for name, out, over in data["by_unit"]}
    assert units["华东事业部"] == (D("600.00"), D("500.00"))
    assert units["华南事业部"] == (D("4700.00"), D("4700.00"))
    assert sum(out for _, out, _ in data["by_company"]) == D("5300.00")
    assert [c.name for c in data["top_customers"]] == ["乙客户", "甲客户"]
    assert data["trend"][-1] == (TODAY, D("5200.00"))


def test_trend_by_hand(db):
    """The overdue trend counts only payments received by each month end."""
    cust = helpers.make_customer()
    helpers.make_receivable(cust, amount="1000", due=date(2026, 1, 15))
    _pay(db, cust, "400", date(2026, 3, 10))
    user = helpers.make_user("finance")
    data = dashboard_data(user, date(2026, 5, 20))
    trend = dict(data["trend"])
    assert list(trend) == month_ends(date(2026, 5, 20))
    assert trend[date(2025, 12, 31)] == D("0.00")
    assert trend[date(2026, 1, 31)] == D("1000.00")
    assert trend[date(2026, 2, 28)] == D("1000.00")
    assert trend[date(2026, 3, 31)] == D("600.00")
    assert trend[date(2026, 5, 20)] == D("600.00")


def test_collector_sees_only_their_unit_and_tasks(client, login_as, db):
    """A collector's dashboard shows only their unit's money and their own open tasks."""
    unit_a, unit_b = _ledger(db)
    other = helpers.make_user("collector", units=[unit_b])
    user = login_as("collector", units=[unit_a])
    for assignee, title in ((user, "回复确认表-我的"), (other, "回复确认表-别人")):
        db.session.add(
            Task(
                kind=TaskKind.ANSWER_FORM,
                title=title,
                subject_type="confirmation_form",
                subject_id=assignee.id,
                assignee_id=assignee.id,
                company_id=unit_a.company_id,
                due_on=TODAY - timedelta(days=1),
            )
        )
    db.session.commit()
    data = dashboard_data(user, TODAY)
    assert data["outstanding"] == D("600.00")
    assert [name for name, *_ in data["by_unit"]] == ["华东事业部"]
    html = client.get("/admin/").get_data(as_text=True)
    assert "甲客户" in html and "乙客户" not in html and "华南事业部" not in html
    assert "回复确认表-我的" in html and "回复确认表-别人" not in html
    assert "¥600.00" in html


def test_users_with_the_same_scope_share_the_cached_figures(app, client, db, monkeypatch):
    """The figures are computed once per scope and ledger version: a second collector of the
    same unit reuses them; a collector of another unit and finance get their own; a ledger
    change recomputes. Each user's tasks stay their own."""
    from backoffice.services import dashboard

    unit_a, unit_b = _ledger(db)
    calls = []
    real = dashboard.dashboard_figures

    def counting(user, as_of=None):
        calls.append(user.username)
        return real(user, as_of)

    monkeypatch.setattr(dashboard, "dashboard_figures", counting)
    helpers.make_user("collector", units=[unit_a], username="a1")
    a2 = helpers.make_user("collector", units=[unit_a], username="a2")
    helpers.make_user("collector", units=[unit_b], username="b1")
    helpers.make_user("finance", username="fin")
    db.session.add(
        Task(
            kind=TaskKind.ANSWER_FORM,
            title="a2 的任务",
            subject_type="confirmation_form",
            subject_id=1,
            assignee_id=a2.id,
            company_id=unit_a.company_id,
            due_on=TODAY,
        )
    )
    db.session.commit()

    def page(username):
        web = helpers.fresh_client(app)
        helpers.login(web, username)
        return web.get("/admin/").get_data(as_text=True)

    first, second = page("a1"), page("a2")
    assert calls == ["a1"]  # a2 shares a1's scope
    assert "¥600.00" in first and "¥600.00" in second
    assert "a2 的任务" in second and "a2 的任务" not in first
    other = page("b1")
    assert calls == ["a1", "b1"] and "¥4,700.00" in other and "甲客户" not in other
    assert "¥5,300.00" in page("fin") and calls[-1] == "fin"
    _pay(db, helpers.make_customer(unit_a, name="丙客户"), "1", TODAY)  # a ledger change
    page("a2")
    assert calls[-1] == "a2" and len(calls) == 4


def test_dashboard_page_draws_offline_charts(client, login_as, db):
    """The page draws inline SVG charts and loads nothing from another host."""
    _ledger(db)
    login_as("finance")
    html = client.get("/admin/").get_data(as_text=True)
    for chart in ("chart-buckets", "chart-classes", "chart-trend", "chart-units"):
        assert f'id="{chart}"' in html
    assert "<polyline" in html and "<rect" in html
    assert "cdn" not in html.lower()
    assert "¥5,300.00" in html


def test_numbers_match_the_receivables_list(client, login_as, db):
    """Dashboard bucket totals equal the receivables export summed by its bucket column."""
    unit_a, _ = _ledger(db)
    user = login_as("collector", units=[unit_a])
    response = client.get("/admin/receivable/export/csv/")
    reader = csv.reader(io.StringIO(response.get_data().decode("utf-8-sig")))
    header = next(reader)
    from backoffice.views.ledger import ReceivableView

    cols = list(ReceivableView.column_export_list)
    out_i, bucket_i = cols.index("outstanding"), cols.index("aging_bucket")
    assert len(header) == len(cols)
    listed: dict[str, D] = defaultdict(lambda: D("0.00"))
    for row in reader:
        if row[bucket_i]:
            listed[row[bucket_i]] += D(row[out_i])
    data = dashboard_data(user, TODAY)
    shown = {str(m.label): v for m, v in data["buckets"] if v}
    assert shown == dict(listed)
    assert sum(listed.values()) == data["outstanding"]


def test_missed_deadlines_show_on_the_dashboard(client, db, login_as):
    """A task past its due date shows under missed deadlines for finance (SPEC §3.2)."""
    from datetime import date, timedelta

    from backoffice.models.notification import Task, TaskKind

    unit = helpers.make_unit()
    collector = helpers.make_user("collector", units=[unit])
    db.session.add(
        Task(
            kind=TaskKind.ANSWER_FORM,
            title="逾期账款确认表 待答复-过期",
            subject_type="confirmation_form",
            subject_id=1,
            assignee_id=collector.id,
            due_on=date.today() - timedelta(days=3),
            company_id=unit.company_id,
            sales_unit_id=unit.id,
        )
    )
    db.session.commit()
    login_as("finance")
    html = client.get("/admin/").get_data(as_text=True)
    assert 'id="table-missed"' in html and "逾期账款确认表 待答复-过期" in html


def test_the_open_tasks_card_counts_every_task_not_only_those_listed(client, db, login_as):
    """With 23 open tasks (5 late) the card says 23 and 5 late, as the to-do does, while the
    list shows the 20 due first and says so (the card once said 20, the list's limit)."""
    import re
    from datetime import date, timedelta

    from backoffice.models.notification import Task, TaskKind

    unit = helpers.make_unit()
    user = login_as("collector", units=[unit])
    for n in range(23):
        db.session.add(
            Task(
                kind=TaskKind.ANSWER_FORM,
                title=f"逾期账款确认表 待答复-{n:02d}",
                subject_type="confirmation_form",
                subject_id=n + 1,
                assignee_id=user.id,
                due_on=date.today() + timedelta(days=-1 if n < 5 else 3),
                company_id=unit.company_id,
                sales_unit_id=unit.id,
            )
        )
    db.session.commit()
    html = client.get("/admin/").get_data(as_text=True)
    card = re.search(r'id="task-count">\s*(\d+)(.*?)</div>', html, re.S)
    assert card.group(1) == "23" and "5 项已逾期" in card.group(2)
    todo_count = re.search(r'data-todo="tasks".*?qq-todo-count">(\d+)<', html, re.S).group(1)
    assert todo_count == "23"
    listed = re.search(r'id="table-tasks"><tbody>(.*?)</tbody>', html, re.S).group(1)
    assert listed.count("<tr") == 20
    assert "共 23 项待办任务，此处显示最早到期的 20 项" in html
    data = dashboard_data(user, date.today())  # without the to-do, the count is read here
    assert (data["task_count"], data["overdue_tasks"], len(data["tasks"])) == (23, 5, 20)
