"""Row scope: a collector of unit A never reaches unit B's rows; company scope likewise."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest

from tests import helpers


@pytest.fixture()
def two_units(app, db):
    """Unit A (the collector's) and unit B, each with a customer, receivable, case, doc, payment."""
    data = {}
    for key, company in (("a", helpers.make_company()), ("b", helpers.make_company())):
        unit = helpers.make_unit(company, code=f"UNIT{key.upper()}")
        customer = helpers.make_customer(unit, name=f"客户{key.upper()}号", erp_code=f"ERP-{key}")
        case = helpers.make_case(customer, case_no=f"CASE-{key}")
        data[key] = {
            "company": company,
            "unit": unit,
            "customer": customer,
            "receivable": helpers.make_receivable(customer, doc_no=f"DOC-{key}"),
            "collection_case": case,
            "evidence_document": helpers.make_evidence(case, name=f"证据-{key}.pdf"),
            "payment": helpers.make_payment(customer, payment_no=f"PAY-{key}"),
        }
    client = helpers.fresh_client(app)
    helpers.make_user("collector", units=[data["a"]["unit"]], username="col-a")
    helpers.login(client, "col-a")
    data["client"] = client
    return data


MARKERS = {
    "customer": "ERP-",
    "receivable": "DOC-",
    "collection_case": "CASE-",
    "evidence_document": "证据-",
    "payment": "PAY-",
}


@pytest.mark.parametrize("view", list(MARKERS))
def test_list_search_and_details_stay_in_unit(two_units, view):
    """Lists and searches show unit A's row only; B's details and edit URLs answer 404."""
    client, marker = two_units["client"], MARKERS[view]
    page = client.get(f"/admin/{view}/").get_data(as_text=True)
    assert f"{marker}a" in page and f"{marker}b" not in page
    search = client.get(f"/admin/{view}/?search={marker}").get_data(as_text=True)
    assert f"{marker}b" not in search
    other = two_units["b"][view]
    assert client.get(f"/admin/{view}/details/?id={other.id}").status_code == 404
    assert client.get(f"/admin/{view}/details/?id={two_units['a'][view].id}").status_code == 200
    edit = client.get(f"/admin/{view}/edit/?id={other.id}").status_code
    assert edit in (403, 404)


@pytest.mark.parametrize("view", list(MARKERS))
def test_exports_stay_in_unit(two_units, view):
    """CSV and XLSX exports contain unit A's row and nothing of unit B."""
    client, marker = two_units["client"], MARKERS[view]
    csv = client.get(f"/admin/{view}/export/csv/")
    assert csv.status_code == 200
    text = csv.get_data(as_text=True)
    assert f"{marker}b" not in text
    xlsx = client.get(f"/admin/{view}/export/xlsx/")
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    cells = " ".join(str(c) for row in book.active.iter_rows(values_only=True) for c in row)
    assert f"{marker}b" not in cells
    if view != "evidence_document":  # its name column is a download link in the list only
        assert f"{marker}a" in text + cells


def test_ajax_lookup_stays_in_scope(app, two_units):
    """The customer picker's ajax look-up serves only those who may fill the form (not the
    collector here), and finds their company's customer, never the other's."""
    collector = two_units["client"]
    finance = helpers.fresh_client(app)
    helpers.make_user("finance", username="fin-a", company_id=two_units["a"]["company"].id)
    helpers.login(finance, "fin-a")
    for view in ("receivable", "contract", "payment"):
        url = f"/admin/{view}/ajax/lookup/?name=customer&query=客户"
        assert collector.get(url).status_code == 403, view
        found = json.dumps(finance.get(url).get_json(), ensure_ascii=False)
        assert "客户A号" in found and "客户B号" not in found, view


def test_relation_pickers_on_create_forms_stay_in_unit(two_units):
    """The case picker on a create form offers only cases of the user's scope."""
    client = two_units["client"]
    assert client.get("/admin/collection_action/new/").status_code == 200
    found = client.get(
        "/admin/collection_action/ajax/lookup/?name=case&query=CASE"
    ).get_data(as_text=True)
    assert "CASE-a" in found and "CASE-b" not in found


def test_guessed_ids_in_writes_are_refused(two_units):
    """Deleting B's evidence by a guessed id does nothing."""
    client = two_units["client"]
    token = helpers.csrf_token(client, "/account")
    doc = two_units["b"]["evidence_document"]
    client.post("/admin/evidence_document/delete/", data={"id": doc.id, "csrf_token": token})
    client.post(
        "/admin/evidence_document/action/",
        data={"action": "delete", "rowid": doc.id, "csrf_token": token},
    )
    from backoffice.extensions import db
    from backoffice.models import EvidenceDocument

    db.session.expire_all()
    assert db.session.get(EvidenceDocument, doc.id).deleted_at is None


def test_company_scope(app, two_units):
    """A finance user scoped to company A sees only company A's receivables and customers."""
    client = helpers.fresh_client(app)
    helpers.make_user("finance", username="fin-a", company_id=two_units["a"]["company"].id)
    helpers.login(client, "fin-a")
    for view, marker in (("receivable", "DOC-"), ("customer", "ERP-")):
        page = client.get(f"/admin/{view}/").get_data(as_text=True)
        assert f"{marker}a" in page and f"{marker}b" not in page
        other = two_units["b"][view]
        assert client.get(f"/admin/{view}/details/?id={other.id}").status_code == 404
    units = client.get("/admin/sales_unit/").get_data(as_text=True)
    assert "UNITA" in units and "UNITB" not in units
