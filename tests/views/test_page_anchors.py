"""Deep pages opened by their number seek from a remembered page start (issue 13).

``page_anchors.MIN_OFFSET`` is lowered so that a 47-row ledger has "deep" pages: every page is
compared with the same page read by OFFSET alone, in every order, with a search, for two users
of different scope, and after a write that moves the rows.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event

from backoffice.views import page_anchors
from tests import helpers
from tests.views.test_keyset_paging import _page

SIZE = 20  # the list's smallest page size
PAGES = 7


@pytest.fixture
def ledger(db):
    unit = helpers.make_unit()
    named = helpers.make_customer(unit, name="广州华达机械有限公司")
    other = helpers.make_customer(unit, name="深圳恒信贸易有限公司")
    for i in range(SIZE * PAGES - 7):
        # Seven due dates: many ties, broken by the id.
        helpers.make_receivable(
            named if i % 3 else other,
            due=date(2026, 1, 1) + timedelta(days=i % 7),
            doc_no=f"INV-{i:03d}",
        )
    return named


def _by_offset(client, url: str, monkeypatch) -> list[str]:
    """The page as OFFSET alone gives it (no remembered start)."""
    monkeypatch.setattr(page_anchors, "MIN_OFFSET", 10**9)
    try:
        return _page(client, url)[0]
    finally:
        monkeypatch.setattr(page_anchors, "MIN_OFFSET", 1)


def _ids_statements(db, client, url: str) -> tuple[list[str], list[str]]:
    seen: list[str] = []

    def keep(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        shown = _page(client, url)[0]
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    return shown, [s for s in seen if "ORDER BY" in s and "FROM receivable" in s]


@pytest.mark.parametrize("query", ["", "sort=3", "sort=1&desc=1", "search=华达机械"])
def test_pages_by_number_are_the_same_with_remembered_starts(
    client, login_as, ledger, db, monkeypatch, query
):
    login_as("finance")
    base = f"/admin/receivable/?page_size={SIZE}&{query}"
    expected = {n: _by_offset(client, f"{base}&page={n}", monkeypatch) for n in range(PAGES)}
    assert sum(map(len, expected.values())) > 2 * SIZE
    page_anchors.clear()
    for n in (5, 2, 3, 5, 6, 1, 4, 4, 0):
        assert _page(client, f"{base}&page={n}")[0] == expected[n], n


def test_a_page_after_a_remembered_one_seeks_from_it(client, login_as, ledger, db):
    login_as("finance")
    base = f"/admin/receivable/?page_size={SIZE}"
    page_anchors.MIN_OFFSET, saved = 1, page_anchors.MIN_OFFSET
    try:
        first, statements = _ids_statements(db, client, f"{base}&page=4")
        assert "<=" not in statements[0] and ">=" not in statements[0]  # nothing remembered yet
        again, statements = _ids_statements(db, client, f"{base}&page=4")
        assert again == first
        assert "(receivable.due_date, receivable.id) <=" in statements[0], statements[0]
        later, statements = _ids_statements(db, client, f"{base}&page=5")
        assert "(receivable.due_date, receivable.id) <=" in statements[0]
        assert later and not set(later) & set(first)
    finally:
        page_anchors.MIN_OFFSET = saved


def test_a_write_to_the_ledger_forgets_the_starts(
    client, login_as, ledger, db, monkeypatch
):
    """A new document that sorts before the page moves every row down by one: the page by
    number shows the new rows, not the ones remembered under the old ledger version."""
    login_as("finance")
    monkeypatch.setattr(page_anchors, "MIN_OFFSET", 1)
    url = f"/admin/receivable/?page_size={SIZE}&page=4"
    before = _page(client, url)[0]
    assert _page(client, url)[0] == before  # read from the remembered start
    helpers.make_receivable(ledger, due=date(2030, 1, 1), doc_no="INV-NEWEST")
    db.session.commit()
    after = _page(client, url)[0]
    assert after == _by_offset(client, url, monkeypatch)
    assert after != before and after[1:] == before[:-1]


def test_users_of_different_scope_share_no_start(
    client, app, login_as, ledger, db, monkeypatch
):
    """A collector's page 3 is a page of their unit's rows, even after finance read page 3."""
    other_unit = helpers.make_unit(name="华南事业部")
    theirs = helpers.make_customer(other_unit, name="佛山南方贸易有限公司")
    for i in range(SIZE * 4):
        helpers.make_receivable(
            theirs, due=date(2026, 3, 1) + timedelta(days=i % 5), doc_no=f"SO-{i:03d}"
        )
    collector = helpers.make_user("collector", units=[other_unit])
    db.session.commit()
    monkeypatch.setattr(page_anchors, "MIN_OFFSET", 1)
    url = f"/admin/receivable/?page_size={SIZE}&page=3"
    login_as("finance")
    assert _page(client, url)[0]
    assert _page(client, url)[0]
    other = app.test_client()
    helpers.login(other, collector.username)
    shown = _page(other, url)[0]
    assert shown and all(doc.startswith("SO-") for doc in shown)
    assert shown == _by_offset(other, url, monkeypatch)
