"""Next and previous pages by position (keyset paging, issue 13), and searches by union.

The pager's links carry the last (or first) row's sort value and id; the page they open is the
same page that the page number gives, in every order and with a search; a typed page number
still works, and a position that does not fit is ignored.
"""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import event

from tests import helpers

DOC = re.compile(r'<td class="col-doc_no">\s*([^<\s]+)')
LINKS = re.compile(r'class="page-link" href="([^"]*)"')


def _page(client, url: str) -> tuple[list[str], list[str]]:
    response = client.get(url)
    assert response.status_code == 200, url
    text = response.get_data(as_text=True)
    return DOC.findall(text), [html.unescape(u) for u in LINKS.findall(text)]


@pytest.fixture
def ledger(db):
    unit = helpers.make_unit()
    named = helpers.make_customer(unit, name="广州华达机械有限公司")
    other = helpers.make_customer(unit, name="深圳恒信贸易有限公司")
    for i in range(47):
        # Seven due dates: many ties, broken by the id.
        helpers.make_receivable(
            named if i % 3 else other,
            due=date(2026, 1, 1) + timedelta(days=i % 7),
            amount=f"{1000 + (i * 37) % 11}.00",
            doc_no=f"INV-{i:03d}",
        )
    return named


@pytest.mark.parametrize(
    "query",
    ["", "sort=3", "sort=3&desc=1", "sort=0", "sort=1&desc=1", "search=华达机械", "search=INV-0"],
)
def test_next_and_previous_links_open_the_pages_of_the_page_numbers(
    client, login_as, ledger, query
):
    login_as("finance")
    base = f"/admin/receivable/?page_size=20&{query}"
    pages = [_page(client, f"{base}&page={n}")[0] for n in range(3)]
    assert sum(len(p) for p in pages) == len(set().union(*pages))  # no row twice
    last = max(n for n in range(3) if pages[n])
    assert last >= 1
    shown, links = _page(client, base)
    assert shown == pages[0]
    for n in range(1, last + 1):
        nxt = links[1]
        assert "after=" in nxt
        shown, links = _page(client, nxt)
        assert shown == pages[n], (n, nxt)
    assert "after=" not in links[1]  # a short page: no next page
    for n in range(last - 1, -1, -1):
        prev = links[0]
        assert "before=" in prev
        shown, links = _page(client, prev)
        assert shown == pages[n], (n, prev)


def test_a_position_that_does_not_fit_falls_back_to_the_page_number(client, login_as, ledger):
    login_as("finance")
    page1 = _page(client, "/admin/receivable/?page=1")[0]
    for bad in ("nonsense", "[1]", '["x","y"]', "[null,3]"):
        assert _page(client, f"/admin/receivable/?page=1&after={bad}")[0] == page1


def test_sort_and_filter_links_do_not_carry_the_position(client, login_as, ledger):
    login_as("finance")
    _, links = _page(client, "/admin/receivable/")
    text = client.get(links[1]).get_data(as_text=True)
    sort_links = re.findall(r'href="(/admin/receivable/\?[^"]*sort=[^"]*)"', text)
    assert sort_links and not any("after" in u for u in sort_links)


def test_a_deep_next_page_seeks_instead_of_skipping(client, login_as, ledger, db):
    """The next page's id query starts from the position instead of skipping rows."""
    login_as("finance")
    _, links = _page(client, "/admin/receivable/?page=1")
    seen: list[str] = []

    def keep(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        _page(client, links[1])
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    ids_query = next(s for s in seen if "ORDER BY" in s and "FROM receivable" in s)
    assert "(receivable.due_date, receivable.id) <" in ids_query, ids_query
    if db.engine.dialect.name == "postgresql":  # SQLite's compiler always writes OFFSET 0
        assert "OFFSET" not in ids_query.upper(), ids_query


def test_search_by_customer_name_and_document_number_together(client, login_as, ledger, db):
    """A term that matches a document and a customer's name lists each row once."""
    login_as("finance")
    unit = ledger.sales_unit
    both = helpers.make_customer(unit, name="INV-00 贸易")
    helpers.make_receivable(both, doc_no="INV-001-B")
    shown, _ = _page(client, "/admin/receivable/?page_size=100&search=INV-00")
    assert len(shown) == len(set(shown))
    assert set(shown) == {f"INV-{i:03d}" for i in range(10)} | {"INV-001-B"}
