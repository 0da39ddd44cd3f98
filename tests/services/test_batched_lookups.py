"""Look-ups asked once per batch, not once per item (issue 13): the Art.26(1) hold check of a
batch of payment allocations, and Redis's answer before a monthly run queues its chunks."""

from __future__ import annotations

from sqlalchemy import event

from backoffice.services import payments
from tests import helpers


def _hold_queries(db, work) -> int:
    seen: list[str] = []

    def keep(conn, cursor, statement, *args):
        if "FROM accountability_hold" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    return len(seen)


def test_allocation_asks_for_holds_unless_the_caller_batches(db):
    customer = helpers.make_customer()
    helpers.make_receivable(customer, amount="5000")
    one, two = helpers.make_payment(customer, amount="10"), helpers.make_payment(customer)
    assert _hold_queries(db, lambda: payments.allocate(db.session, one)) == 1
    assert _hold_queries(db, lambda: payments.allocate(db.session, two, lift_holds=False)) == 0


def test_unallocated_money_is_applied_with_one_hold_check(db):
    customer = helpers.make_customer()
    for _ in range(4):  # money with nothing open to apply it to yet
        payments.allocate(db.session, helpers.make_payment(customer, amount="10"))
    helpers.make_receivable(customer, amount="5000")
    assert _hold_queries(db, lambda: payments.apply_unallocated(db.session, customer.id)) == 1


def test_a_monthly_run_asks_redis_once_for_all_its_chunks(app, db, monkeypatch):
    import jobs
    import jobs.monthly as monthly_jobs
    from backoffice.services.calendar import load_year

    pings: list[object] = []

    def counted(connection=None):  # stands for a Redis that answers
        pings.append(connection)
        return object()

    enqueued: list[tuple] = []
    monkeypatch.setattr(jobs, "require_queue", counted)
    monkeypatch.setattr(monthly_jobs, "require_queue", counted)
    monkeypatch.setattr(
        monthly_jobs,
        "ensure_enqueued",
        lambda func, *args, connection=None, **kw: enqueued.append((args, connection)),
    )
    app.config["MONTHLY_STATEMENT_CHUNK"] = 1
    try:
        load_year(db.session, 2026)
        unit = helpers.make_unit()
        for _ in range(3):
            helpers.make_receivable(helpers.make_customer(unit), amount="100")
        db.session.commit()
        monthly_jobs.run_period("2026-10")
    finally:
        app.config.pop("MONTHLY_STATEMENT_CHUNK", None)
    assert len(enqueued) >= 2
    assert len(pings) == 1
    assert all(conn is not None and conn is enqueued[0][1] for _, conn in enqueued)
