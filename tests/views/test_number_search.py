"""Any part of a document or payment number finds its row (issues 11 and 13), through a trigram
index on both databases (``services.substring_search``, migration ``w4perf0001``), at the cost
of an ordinary list request."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from backoffice.extensions import db as _db
from tests import helpers


@pytest.fixture()
def ledger(db):
    unit = helpers.make_unit()
    customer = helpers.make_customer(unit, name="广州凯旋机电设备有限公司")
    other = helpers.make_customer(unit, name="上海宏达机械有限公司")
    return {
        "kx": helpers.make_receivable(customer, doc_no="XS-2026-004217"),
        "hd": helpers.make_receivable(other, doc_no="XS-2026-009931"),
        "pct": helpers.make_receivable(other, doc_no="AB%CD_778"),
        "pay": helpers.make_payment(
            customer, payment_no="SK-2026-771205", doc_no_ref="XS-2026-004217"
        ),
        "pay2": helpers.make_payment(other, payment_no="SK-2026-880316"),
    }


def _page(client, view: str, term: str) -> str:
    response = client.get(f"/admin/{view}/", query_string={"search": term})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_middle_of_a_document_number_finds_the_receivable(client, login_as, ledger):
    """ "04217" (the middle and end of XS-2026-004217) finds that receivable and no other."""
    login_as("finance")
    page = _page(client, "receivable", "04217")
    assert "XS-2026-004217" in page and "XS-2026-009931" not in page
    page = _page(client, "receivable", "026-0099")
    assert "XS-2026-009931" in page and "XS-2026-004217" not in page


def test_three_characters_are_enough_and_case_does_not_matter(client, login_as, ledger):
    """Three characters of the middle match, in any case; two match the start only."""
    login_as("finance")
    assert "XS-2026-004217" in _page(client, "receivable", "217")
    assert "XS-2026-004217" in _page(client, "receivable", "xs-2026-0042")
    assert "XS-2026-004217" not in _page(client, "receivable", "17")
    assert "XS-2026-004217" in _page(client, "receivable", "XS")


def test_wildcards_in_a_number_are_characters(client, login_as, ledger):
    """ "%CD" finds AB%CD_778 only; "S%2" (a LIKE pattern) finds nothing."""
    login_as("finance")
    page = _page(client, "receivable", "%CD_")
    assert "AB%CD_778" in page and "XS-2026" not in page
    page = _page(client, "receivable", "S%2")
    assert "XS-2026-004217" not in page and "AB%CD_778" not in page


def test_customer_name_search_still_works_beside_the_number(client, login_as, ledger):
    """ "凯旋机电" finds the customer's receivable through the name, not the number."""
    login_as("finance")
    page = _page(client, "receivable", "凯旋机电")
    assert "XS-2026-004217" in page and "XS-2026-009931" not in page


def test_payment_list_finds_any_part_of_its_numbers(client, login_as, ledger):
    """The payments list finds the middle of a payment number and of the document it names."""
    login_as("finance")
    page = _page(client, "payment", "771")
    assert "SK-2026-771205" in page and "SK-2026-880316" not in page
    page = _page(client, "payment", "004217")  # the payer's document reference
    assert "SK-2026-771205" in page and "SK-2026-880316" not in page


def test_changed_and_deleted_numbers_are_found_as_they_are_now(client, login_as, ledger, db):
    """The index follows the table: a renamed number is found by its new text only, a
    deleted receivable not at all, a new one at once."""
    login_as("finance")
    ledger["kx"].doc_no = "XS-2026-555000"
    db.session.commit()
    assert "XS-2026-555000" in _page(client, "receivable", "5550")
    assert "XS-2026-555000" not in _page(client, "receivable", "04217")
    db.session.delete(ledger["hd"])
    db.session.commit()
    assert "XS-2026-009931" not in _page(client, "receivable", "09931")
    helpers.make_receivable(helpers.make_customer(), doc_no="NEW-77-31415")
    assert "NEW-77-31415" in _page(client, "receivable", "7-314")


def test_another_units_document_stays_hidden(client, login_as, db):
    """A collector's search by the middle of a number finds only their own units' rows."""
    mine, theirs = helpers.make_unit(), helpers.make_unit()
    helpers.make_receivable(helpers.make_customer(mine), doc_no="MY-000-123456")
    helpers.make_receivable(helpers.make_customer(theirs), doc_no="TH-000-123456")
    login_as("collector", units=[mine])
    page = _page(client, "receivable", "123456")
    assert "MY-000-123456" in page and "TH-000-123456" not in page


def test_number_search_costs_three_statements(app, client, login_as, ledger):
    """A search by part of a number is a list request like any other: at most 3 statements."""
    login_as("finance")
    _page(client, "receivable", "04217")  # in-process caches filled, as on a server
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(_db.engine, "before_cursor_execute", count)
    try:
        with app.app_context():
            page = _page(client, "receivable", "04217")
    finally:
        event.remove(_db.engine, "before_cursor_execute", count)
    assert "XS-2026-004217" in page
    assert len(statements) <= 3, statements


def _search_statement(client, term: str) -> tuple[str, object]:
    seen: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "ORDER BY" in statement and "FROM receivable" in statement:
            seen.append((statement, parameters))

    event.listen(_db.engine, "before_cursor_execute", keep)
    try:
        _page(client, "receivable", term)
    finally:
        event.remove(_db.engine, "before_cursor_execute", keep)
    assert seen, "no ordered id query was issued"
    return seen[0]


def test_search_plan_uses_the_trigram_index(client, login_as, ledger):
    """The id query of a number search reads the trigram index, not the whole table: a GIN
    index scan on PostgreSQL, the FTS5 table on SQLite."""
    login_as("finance")
    # On a few rows a scan is cheapest; priced out, the planner uses an index if any.
    dialect, plan = _plan(*_search_statement(client, "04217"), off=("enable_seqscan",))
    if dialect == "postgresql":
        assert "ix_receivable_doc_no_trgm" in plan, plan
    else:
        assert "VIRTUAL TABLE INDEX" in plan and "fts_receivable" in plan, plan
        assert "SCAN receivable" not in plan.replace("SCAN receivable USING", ""), plan


def _plan(statement: str, parameters, off: tuple[str, ...]) -> tuple[str, str]:
    """(dialect, the statement's plan as text); on PostgreSQL with the ``off`` planner
    settings switched off for it."""
    with _db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            for setting in off:
                conn.exec_driver_sql(f"SET {setting} = off")
            rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
            return "postgresql", "\n".join(r[0] for r in rows)
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        return conn.dialect.name, "\n".join(str(r[-1]) for r in rows)


def test_index_objects_exist_after_the_migrations(db):
    """The migrations built the trigram index (PostgreSQL) or the FTS tables and their
    triggers (SQLite); a later table rebuild that drops them fails here."""
    with _db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            names = set(
                conn.execute(
                    text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%trgm'")
                ).scalars()
            )
            assert {
                "ix_receivable_doc_no_trgm",
                "ix_payment_payment_no_trgm",
                "ix_payment_doc_no_ref_trgm",
                "ix_customer_name_trgm",
            } <= names
        else:
            names = set(conn.execute(text("SELECT name FROM sqlite_master")).scalars())
            for table in ("receivable", "payment", "customer"):
                assert {f"fts_{table}", *(f"fts_{table}_{s}" for s in ("ai", "ad", "au"))} <= names
