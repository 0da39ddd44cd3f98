"""The list search box (issue 11): any part of a customer's name (two characters or more) finds
the customer and its rows; the box says in Chinese what it searches."""

from __future__ import annotations

import re

import pytest

from tests import helpers


@pytest.fixture()
def ledger(db):
    unit = helpers.make_unit()
    kaixuan = helpers.make_customer(unit, name="广州凯旋机电设备有限公司", erp_code="C-KX")
    other = helpers.make_customer(unit, name="上海宏达机械有限公司", erp_code="C-HD")
    percent = helpers.make_customer(unit, name="深圳百分之百_贸易有限公司", erp_code="C-PC")
    return {
        "unit": unit,
        "kx_doc": helpers.make_receivable(kaixuan, doc_no="KX-INV-1"),
        "hd_doc": helpers.make_receivable(other, doc_no="HD-INV-1"),
        "pc_doc": helpers.make_receivable(percent, doc_no="PC-INV-1"),
    }


def _rows(client, view: str, term: str) -> str:
    response = client.get(f"/admin/{view}/", query_string={"search": term})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_middle_of_a_chinese_name_finds_the_customer_and_its_receivables(client, login_as, ledger):
    """"凯旋" finds 广州凯旋… in the customer list and its receivable, and nothing else."""
    login_as("finance")
    customers = _rows(client, "customer", "凯旋")
    assert "广州凯旋机电设备有限公司" in customers and "上海宏达" not in customers
    receivables = _rows(client, "receivable", "凯旋")
    assert "KX-INV-1" in receivables and "HD-INV-1" not in receivables
    archives = _rows(client, "archive_record", "凯旋")
    assert "上海宏达" not in archives


def test_one_character_matches_only_the_start_of_a_name(client, login_as, ledger):
    """A single character is a prefix search: "州" does not match 广州…, "广" does."""
    login_as("finance")
    assert "KX-INV-1" not in _rows(client, "receivable", "州")
    assert "KX-INV-1" in _rows(client, "receivable", "广")


def test_like_wildcards_in_the_term_are_matched_literally(client, login_as, ledger):
    """"%" and "_" in a search are characters, not wildcards."""
    login_as("finance")
    assert "PC-INV-1" in _rows(client, "receivable", "百_贸")
    page = _rows(client, "receivable", "宏%")
    assert "HD-INV-1" not in page and "KX-INV-1" not in page


def test_document_number_and_erp_code_still_match(client, login_as, ledger):
    """The document number's start and the exact ERP code find their rows."""
    login_as("finance")
    assert "HD-INV-1" in _rows(client, "receivable", "HD-INV")
    page = _rows(client, "receivable", "C-KX")
    assert "KX-INV-1" in page and "HD-INV-1" not in page


@pytest.mark.parametrize("view", ["customer", "receivable", "payment", "archive_record"])
def test_search_box_says_in_chinese_what_it_searches(client, login_as, ledger, view):
    """The search box's placeholder is a Chinese description, never "None"."""
    login_as("finance")
    html = _rows(client, view, "")
    placeholder = re.search(r'name="search"[^>]*placeholder="([^"]*)"', html) or re.search(
        r'placeholder="([^"]*)"[^>]*name="search"', html
    )
    assert placeholder, "no search box"
    text = placeholder.group(1)
    assert text != "None" and re.search(r"[\u4e00-\u9fff]", text), text
