"""Any part of a customer's name finds its receivables through a trigram index (issue 13,
migration ``w6custname_0001``): three characters or more are looked up in the index, two are
matched by scanning the names; both find the same rows, a renamed customer is found by its new
name only, a new customer at once, and the look-up shows in the statement's plan."""

from __future__ import annotations

from tests import helpers
from tests.views.test_number_search import _page, _plan
from tests.views.test_number_search import _search_statement as _ids_statement
from tests.views.test_number_search import ledger as ledger  # noqa: F401  (fixture)


def test_two_and_more_characters_find_the_same_customer(client, login_as, ledger):  # noqa: F811
    login_as("finance")
    for term in ("凯旋", "凯旋机", "凯旋机电设备", "广州凯旋机电设备有限公司"):
        page = _page(client, "receivable", term)
        assert "XS-2026-004217" in page and "XS-2026-009931" not in page, term
    page = _page(client, "receivable", "机械有限")
    assert "XS-2026-009931" in page and "XS-2026-004217" not in page


def test_a_renamed_customer_is_found_by_its_new_name(client, login_as, ledger, db):  # noqa: F811
    login_as("finance")
    customer = ledger["kx"].customer
    customer.name = "深圳腾跃科技有限公司"
    db.session.commit()
    assert "XS-2026-004217" in _page(client, "receivable", "腾跃科技")
    assert "XS-2026-004217" not in _page(client, "receivable", "凯旋机电")
    newcomer = helpers.make_customer(customer.sales_unit, name="新来凯旋机电贸易有限公司")
    helpers.make_receivable(newcomer, doc_no="XS-2026-005555")
    page = _page(client, "receivable", "凯旋机电")
    assert "XS-2026-005555" in page and "XS-2026-004217" not in page


def test_a_name_term_of_three_characters_reads_the_index(client, login_as, ledger):  # noqa: F811
    login_as("finance")
    # On a few rows any scan is cheapest. With full walks priced out (of the table, of the
    # primary key, of the name's B-tree), the planner takes the trigram index if it can
    # answer the term.
    off = ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan")
    dialect, plan = _plan(*_ids_statement(client, "凯旋机电"), off=off)
    if dialect == "postgresql":
        assert "ix_customer_name_trgm" in plan, plan
    else:
        assert "fts_customer" in plan, plan
        assert "SCAN customer" not in plan, plan
    short, _ = _ids_statement(client, "凯旋")
    assert "fts_customer" not in short  # two characters: no trigram to look up
