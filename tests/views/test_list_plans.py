"""Deep list pages walk an index in the list's order (issue 13): on PostgreSQL the receivable
and payment lists' id queries need no Sort node, so page 1,000 costs what page 1 does."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event

from tests import helpers


def _captured_plan(client, db, url: str, table: str) -> str:
    """EXPLAIN of the list request's id query (the one ordered by the list's sort column)."""
    seen: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "ORDER BY" in statement and f"FROM {table}" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert seen, "no ordered id query was issued"
    statement, parameters = seen[0]
    with db.engine.connect() as conn:
        # On a few rows a sort is cheap; with the alternatives priced out, the planner sorts
        # only when no index gives the order.
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            conn.exec_driver_sql(f"SET {setting} = off")
        rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
    return "\n".join(r[0] for r in rows)


@pytest.mark.parametrize(
    ("view", "table"), [("receivable", "receivable"), ("payment", "payment")]
)
def test_deep_page_walks_an_index_without_sorting(client, login_as, db, view, table):
    """Page 3 of the list is read in index order: no Sort node in PostgreSQL's plan."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's indexes carry the rowid, which hides this; PostgreSQL shows it")
    customer = helpers.make_customer()
    for i in range(60):
        helpers.make_receivable(customer, due=date(2026, 1, 1) + timedelta(days=i % 7))
        helpers.make_payment(customer, amount="10.00", received_on=date(2026, 2, 1))
    login_as("finance")
    plan = _captured_plan(client, db, f"/admin/{view}/?page=2", table)
    assert "Sort" not in plan, plan
