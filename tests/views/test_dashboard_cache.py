"""The dashboard's figures are shared through Redis, per scope, and refreshed in the background
(issue 13): the first view after a ledger write answers at once with the earlier figures,
marked "截至 hh:mm", a worker recomputes them, and no view shows old figures unmarked."""

from __future__ import annotations

import re
from datetime import date, timedelta

from rq.worker import SimpleWorker
from sqlalchemy import event

import jobs
from backoffice.services import dashboard_cache, ledger_cache
from tests import helpers

TODAY = date.today()
#: A view after a ledger write, with figures in Redis: the user, their tasks, missed deadlines,
#: and the role's to-do counts (one statement, issue 11).
COLD_WITH_SHARED_FIGURES = 4
#: A scope's very first view (nothing cached anywhere): the user, the settings, the figure
#: queries, the tasks, the missed deadlines and the to-do counts. Same ceiling as without Redis.
FIRST_EVER = 13


class InProcessWorker(SimpleWorker):
    """SimpleWorker without the pub/sub listener (its thread slows every burst down)."""

    def subscribe(self):
        pass

    def unsubscribe(self):
        pass


def _work(conn) -> None:
    jobs.make_worker(conn, worker_class=InProcessWorker).work(burst=True)


def _view(app, client, db) -> tuple[str, list[str]]:
    """The dashboard as its own request (own app context, as under gunicorn), and its SQL."""
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with app.app_context():
            response = client.get("/admin/")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return response.get_data(as_text=True), statements


def _outstanding(html: str) -> str:
    return re.search(r'id="total-outstanding">([^<]*)<', html).group(1)


def _new_process() -> None:
    """Forget what this process cached, as another gunicorn worker would not have it."""
    ledger_cache.clear()


def _ledger():
    unit = helpers.make_unit()
    customer = helpers.make_customer(unit)
    helpers.make_receivable(customer, amount="1000.00", due=TODAY - timedelta(days=40))
    return unit, customer


def test_figures_are_shared_by_processes_through_redis(app, client, login_as, db, redis_conn):
    """A second process serves the first one's figures from Redis, with no figure query."""
    _ledger()
    login_as("finance")
    first, statements = _view(app, client, db)
    assert len(statements) <= FIRST_EVER, statements
    assert redis_conn.hlen(dashboard_cache.SCOPES) == 1
    _new_process()
    again, statements = _view(app, client, db)
    assert _outstanding(again) == _outstanding(first)
    assert len(statements) <= COLD_WITH_SHARED_FIGURES, statements
    assert 'id="figures-stale"' not in again


def test_after_a_write_the_old_figures_are_marked_and_a_refresh_is_queued(
    app, client, login_as, db, redis_conn
):
    """After a ledger write the view answers with the earlier figures, says "截至 hh:mm", and
    queues one refresh; once a worker ran it, the view is current and unmarked."""
    _, customer = _ledger()
    login_as("finance")
    before, _ = _view(app, client, db)
    helpers.make_receivable(customer, amount="500.00", due=TODAY - timedelta(days=10))
    stale, statements = _view(app, client, db)
    assert len(statements) <= COLD_WITH_SHARED_FIGURES, statements  # the cold path, counted
    assert _outstanding(stale) == _outstanding(before)
    marker = re.search(r'id="figures-stale">([^<]*)<', stale)
    assert marker and re.search(r"截至 \d{2}:\d{2}", marker.group(1)), stale[:2000]
    queue = jobs.get_queue(connection=redis_conn)
    assert [j.func_name for j in queue.jobs] == ["jobs.dashboard.refresh_scope"]
    _view(app, client, db)  # a second view while the refresh is under way queues no other
    assert len(queue.jobs) == 1
    _work(redis_conn)
    _new_process()
    fresh, _ = _view(app, client, db)
    assert 'id="figures-stale"' not in fresh
    assert _outstanding(fresh) != _outstanding(before)
    assert "1,500.00" in _outstanding(fresh)


def test_scopes_keep_their_own_figures(app, client, login_as, db, redis_conn):
    """A collector's cached figures cover their unit only; finance's cover both units."""
    unit_a, customer_a = _ledger()
    unit_b = helpers.make_unit()
    helpers.make_receivable(helpers.make_customer(unit_b), amount="7000.00")
    collector = helpers.make_user("collector", units=[unit_a])
    finance = helpers.make_user("finance")
    client_c, client_f = helpers.fresh_client(app), helpers.fresh_client(app)
    helpers.login(client_c, collector.username)
    helpers.login(client_f, finance.username)
    assert "1,000.00" in _outstanding(_view(app, client_c, db)[0])
    assert "8,000.00" in _outstanding(_view(app, client_f, db)[0])
    _new_process()
    assert "1,000.00" in _outstanding(_view(app, client_c, db)[0])
    assert redis_conn.hlen(dashboard_cache.SCOPES) == 2


def test_refresh_all_requeues_every_known_scope(app, client, login_as, db, redis_conn):
    """After an import or a monthly run, every scope with figures gets one refresh."""
    unit, _ = _ledger()
    login_as("finance")
    _view(app, client, db)
    collector = helpers.make_user("collector", units=[unit])
    other = helpers.fresh_client(app)
    helpers.login(other, collector.username)
    _view(app, other, db)
    with app.app_context():
        assert dashboard_cache.refresh_all(redis_conn) == 2
        assert dashboard_cache.refresh_all(redis_conn) == 0  # already under way
    _work(redis_conn)
    assert not redis_conn.keys(dashboard_cache.PREFIX + "*:refreshing")


def test_without_redis_the_figures_are_always_current(app, client, login_as, db, no_redis):
    """With no Redis the process's own cache serves, and never a figure older than the ledger."""
    _, customer = _ledger()
    login_as("finance")
    assert "1,000.00" in _outstanding(_view(app, client, db)[0])
    helpers.make_receivable(customer, amount="500.00", due=TODAY - timedelta(days=10))
    html, _ = _view(app, client, db)
    assert "1,500.00" in _outstanding(html) and 'id="figures-stale"' not in html


def test_cached_figures_hold_no_code(app, db, redis_conn):
    """Entries are plain JSON: decimals, dates and the dashboard's enums come back as such."""
    from decimal import Decimal

    from backoffice.services.aging import Bucket

    text = dashboard_cache.dumps({"b": [(Bucket.NOT_DUE, Decimal("1.50"))], "d": TODAY})
    assert "pickle" not in text and text.startswith("{")
    back = dashboard_cache.loads(text)
    assert back == {"b": [[Bucket.NOT_DUE, Decimal("1.50")]], "d": TODAY}
