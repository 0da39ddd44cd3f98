"""List filters on a unit or company (issue 11): one choice list of names in the user's scope,
not "Sales unit / Code" text filters, and the choice filters the list (also on PostgreSQL)."""

from __future__ import annotations

import html as htmllib
import json
import re

from tests import helpers


def _filter_groups(html: str) -> dict:
    raw = re.search(r'<div id="filter-groups-data" class="d-none">(.*?)</div>', html, re.S)
    assert raw, "no filters on the page"
    return json.loads(htmllib.unescape(raw.group(1)))


def test_unit_filter_lists_unit_names_and_filters_by_the_chosen_unit(client, login_as, db):
    """The receivables list offers 事业部 as one filter over the units' names; choosing one
    keeps only that unit's rows."""
    company = helpers.make_company()
    east = helpers.make_unit(company, name="华东事业部")
    north = helpers.make_unit(company, name="华北事业部")
    helpers.make_receivable(helpers.make_customer(east), doc_no="E-1")
    helpers.make_receivable(helpers.make_customer(north), doc_no="N-1")
    login_as("finance")
    groups = _filter_groups(client.get("/admin/receivable/").get_data(as_text=True))
    assert not [name for name in groups if " / " in name], list(groups)
    (unit_filter,) = groups["事业部"]
    labels = sorted(label for _v, label in unit_filter["options"])
    assert labels == sorted(["华北事业部", "华东事业部"])
    page = client.get(f"/admin/receivable/?flt0_{unit_filter['arg']}={east.id}")
    listed = page.get_data(as_text=True)
    assert "E-1" in listed and "N-1" not in listed


def test_unit_filter_offers_a_collector_only_their_units(client, login_as, db):
    """A collector's unit filter lists their own unit only."""
    company = helpers.make_company()
    east = helpers.make_unit(company, name="华东事业部")
    helpers.make_unit(company, name="华北事业部")
    login_as("collector", units=[east])
    groups = _filter_groups(client.get("/admin/receivable/").get_data(as_text=True))
    assert [label for _v, label in groups["事业部"][0]["options"]] == ["华东事业部"]
