"""Accountability over HTTP (issue 12): the finding's page, measures, holds, the register and
the hand-over, each refused to the wrong role, and the generic doors kept shut; plus the
scenario from a write-off to a recovery that lifts the hold."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
from sqlalchemy import func, select

from backoffice.models import AccountabilityFinding, FindingParty, HandOver, Sanction, User
from backoffice.models.writeoff import AccountabilityHold, SanctionStatus
from tests import helpers
from tests.services.test_seal_scope import filed_writeoff
from tests.views.test_permission_matrix import form_values
from tests.views.test_writeoff_views import client_for, post


def page_of(finding: AccountabilityFinding) -> str:
    return f"/admin/accountability_finding/finding/{finding.id}/"


def the_finding(db) -> AccountabilityFinding:
    db.session.expire_all()
    return db.session.scalar(select(AccountabilityFinding))


def deactivate_via_generic_edit(app, admin, user: User):
    """The generic user edit form, posted with 'active' unticked (the browser's way)."""
    client = client_for(app, admin)
    url = f"/admin/user/edit/?id={user.id}"
    values = form_values(client.get(url).get_data(as_text=True))
    values.pop("active", None)
    return post(client, url, values, url)


def test_a_loss_from_write_off_to_recovery(app, db):
    """Walks a loss from write-off to a finding naming person and VP, a sanction recommended
    and decided, a hold that blocks deactivation, and a recovery that lifts the hold."""
    filed = filed_writeoff(db)
    admin = helpers.make_user("admin")
    finding = the_finding(db)
    page = page_of(finding)
    # The write-off opened the finding; the unit's VP is named (Art.24) and sees it.
    vp = client_for(app, filed["vp"])
    assert vp.get(page).status_code == 200
    mine = vp.get("/admin/accountability_finding/mine/").get_data(as_text=True)
    assert page in mine
    # Legal (a team member, not the lead) names the salesperson under Art.26(1).
    legal = client_for(app, filed["legal"])
    named = {
        "user_id": filed["collector"].id,
        "responsibility": "individual",
        "basis": "art26_1",
        "note": "直接经办人",
    }
    assert post(legal, page + "party", named, page).status_code == 303
    # Finance completes the analysis (facts and evidence); 总裁办 confirms.
    finance = client_for(app, filed["finance"])
    analysis = {
        "kind": "individual",
        "people": "",
        "finding": "未按期对账，客户注销前未申请财产保全",
        "evidence": "催收记录；工商注销公告",
        "completed": "1",
    }
    assert post(finance, page + "analysis", analysis, page).status_code == 303
    credit = client_for(app, filed["credit"])
    assert post(credit, page + "confirm", {"comment": "同意"}, page).status_code == 303
    finding = the_finding(db)
    assert finding.confirmed_by_id == filed["credit"].id
    assert [p.user_id for p in finding.parties] == [filed["vp"].id, filed["collector"].id]
    hold = db.session.scalar(select(AccountabilityHold))
    assert hold.user_id == filed["collector"].id and hold.lifted_at is None
    # The lead recommends a wage suspension; the CFO decides it.
    lead = client_for(app, filed["lead"])
    measure = {"user_id": filed["collector"].id, "kind": "salary_hold", "note": "暂停发放工资"}
    assert post(lead, page + "measure", measure, page).status_code == 303
    sanction = db.session.scalar(select(Sanction))
    decide = page + f"measure/{sanction.id}/decide"
    assert post(lead, decide, {"decision": "approve"}, page).status_code == 403
    cfo = client_for(app, filed["cfo"])
    assert post(cfo, decide, {"decision": "approve", "comment": "同意"}, page).status_code == 303
    db.session.expire_all()
    sanction = db.session.get(Sanction, sanction.id)
    assert sanction.status is SanctionStatus.DECIDED and sanction.decided_on is not None
    # The salesperson leaves: the admin hands their open items over (Art.7) ...
    person = filed["collector"]
    url = f"/admin/hand_over/hand-over/?leaver_id={person.id}"
    data = {"leaver_id": person.id, "successor_id": helpers.make_user("collector").id}
    assert post(client_for(app, admin), url, data, url).status_code == 303
    # ... but the hold still blocks the deactivation through the generic user edit door.
    refused = deactivate_via_generic_edit(app, admin, person)
    assert refused.status_code == 200
    assert "Art.26" in refused.get_data(as_text=True) or "第二十六条" in refused.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert db.session.get(User, person.id).active is True
    # Finance books the whole loss as recovered: the hold lifts, recorded.
    wo_page = f"/admin/writeoff_application/app/{filed['app'].id}/"
    recovery = {"amount": "30000", "received_on": "2026-12-01", "note": "破产清算分配"}
    assert post(finance, wo_page + "recovery", recovery, wo_page).status_code == 303
    db.session.expire_all()
    hold = db.session.get(AccountabilityHold, hold.id)
    assert hold.lifted_at is not None and hold.lift_reason
    assert (
        "30,000"
        not in client_for(app, admin)
        .get(page)
        .get_data(as_text=True)
        .split('id="finding-unrecovered">')[1][:20]
    )
    # Now the deactivation goes through.
    assert deactivate_via_generic_edit(app, admin, person).status_code in (200, 302)
    db.session.expire_all()
    assert db.session.get(User, person.id).active is False


def test_the_wrong_role_is_refused_on_every_accountability_door(app, db):
    """A collector cannot open the finding or name a party; the lead cannot confirm or
    decide; an auditor cannot name, confirm or recommend; nothing changes."""
    filed = filed_writeoff(db)
    finding = the_finding(db)
    page = page_of(finding)
    collector = client_for(app, filed["collector"])
    assert collector.get(page).status_code == 403
    named = {"name": "某单位", "responsibility": "unit", "basis": "art26_5"}
    token_page = "/account"
    assert post(collector, page + "party", named, token_page).status_code == 403
    lead = client_for(app, filed["lead"])
    assert post(lead, page + "confirm", {}, page).status_code == 403
    auditor = client_for(app, helpers.make_user("auditor"))
    for path, data in (
        ("party", named),
        ("confirm", {}),
        ("measure", {"user_id": filed["collector"].id, "kind": "notice", "note": "x"}),
        ("analysis", {"kind": "unit", "finding": "x"}),
    ):
        assert post(auditor, page + path, data, page).status_code == 403, path
    db.session.expire_all()
    assert [p.user_id for p in the_finding(db).parties] == [filed["vp"].id]
    assert db.session.scalar(select(func.count()).select_from(Sanction)) == 0


def test_generic_doors_of_the_accountability_records_stay_shut(app, db):
    """Generic create of a party, edit of a finding and create of a sanction never land: the
    first two are refused (403), the last redirects to the findings, nothing is written."""
    filed = filed_writeoff(db)
    finding = the_finding(db)
    lead = client_for(app, filed["lead"])
    token_page = "/account"
    party = {"finding": finding.id, "name": "x", "responsibility": "unit", "basis": "art26_5"}
    assert post(lead, "/admin/finding_party/new/", party, token_page).status_code == 403
    edit = f"/admin/accountability_finding/edit/?id={finding.id}"
    assert post(lead, edit, {"kind": "unit", "people": "x"}, token_page).status_code == 403
    created = post(lead, "/admin/sanction/new/", {"kind": "notice"}, token_page)
    assert created.status_code == 302 and "/admin/accountability_finding/" in created.location
    assert db.session.scalar(select(func.count()).select_from(FindingParty)) == 1  # the VP
    assert db.session.scalar(select(func.count()).select_from(Sanction)) == 0
    assert the_finding(db).people is None


def test_the_register_and_its_xlsx_for_hr_and_not_for_a_collector(app, db):
    """The register lists the hold in force with its person and article point; its XLSX has
    the same row; a collector is refused both."""
    filed = filed_writeoff(db)
    finding = the_finding(db)
    db.session.add(
        FindingParty(
            finding_id=finding.id,
            user_id=filed["collector"].id,
            responsibility="individual",
            basis="art26_1",
        )
    )
    finding.completed_at = finding.created_at
    db.session.commit()
    from backoffice.services import accountability

    accountability.confirm(db.session, finding, filed["credit"], "")
    db.session.commit()
    admin = client_for(app, helpers.make_user("admin"))
    html = admin.get("/admin/accountability-register/").get_data(as_text=True)
    assert str(filed["collector"]) in html and "第二十六条第（一）项" in html
    response = admin.get("/admin/accountability-register/register.xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0] == str(filed["collector"]) and Decimal(str(rows[1][5])) == Decimal("30000")
    collector = client_for(app, filed["collector"])
    assert collector.get("/admin/accountability-register/").status_code == 403
    assert collector.get("/admin/accountability-register/register.xlsx").status_code == 403
    user_page = admin.get(f"/admin/user/details/?id={filed['collector'].id}")
    assert "不得晋级" in user_page.get_data(as_text=True) or "No promotion" in user_page.get_data(
        as_text=True
    )


def test_hand_over_form_for_the_admin_and_refused_to_others(app, db):
    """The admin hands a leaver's receivable over on the form (one HandOver row); a collector
    and a team lead are refused the form and its POST."""
    unit = helpers.make_unit()
    leaver = helpers.make_user("collector", units=[unit])
    successor = helpers.make_user("collector")
    rec = helpers.make_receivable(helpers.make_customer(unit), collector_id=leaver.id)
    url = f"/admin/hand_over/hand-over/?leaver_id={leaver.id}"
    data = {"leaver_id": leaver.id, "successor_id": successor.id}
    for role in ("collector", "team_lead"):
        other = client_for(app, helpers.make_user(role))
        assert other.get(url).status_code == 403
        assert post(other, url, data, "/account").status_code == 403
    admin = client_for(app, helpers.make_user("admin"))
    assert "1" in admin.get(url).get_data(as_text=True)
    assert post(admin, url, data, url).status_code == 303
    db.session.expire_all()
    assert db.session.get(type(rec), rec.id).collector_id == successor.id
    assert db.session.scalar(select(func.count()).select_from(HandOver)) == 1
