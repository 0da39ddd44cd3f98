"""The attacks of issue 10 on Flask-Admin's generic doors, reproduced over HTTP as described:
a write-off amount changed after approval, finance re-running the year-end transfer, the case
edit form (another unit's customer, an override without a reason, a customer with a case),
user enumeration through ajax look-ups, and the open redirect of bulk actions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backoffice.models import AuditLog, Notification, RecourseEntry, WriteOffItem
from backoffice.models.case import CaseStatus, CollectionCase, Strategy
from backoffice.models.job import JobRun, JobStatus
from backoffice.models.writeoff import WriteOffStatus
from backoffice.services.job_text import job_label
from tests import helpers
from tests.conftest import csrf_from
from tests.views import test_writeoff_views as wv

chain = wv.chain  # the write-off world: a unit, its approval chain, finance, credit, receivables


def refused(db) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditLog.detail).where(AuditLog.action == "refused")))


def denied(db) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditLog.detail).where(AuditLog.action == "denied")))


def approved(app, db, chain) -> int:
    """An application through all four approvals (not yet filed); returns its id."""
    app_id = wv.draft(app, chain)
    wv.make_ready(app, db, chain, app_id)
    for step, who in wv.STEPS:
        assert wv.decide(app, chain, who, app_id, step).status_code == 303
    assert wv.fresh(db, app_id).status is WriteOffStatus.APPROVED
    return app_id


# -- 1. the write-off amount after approval ------------------------------------------------------


def test_applicant_cannot_cut_an_approved_writeoff_through_the_generic_edit(app, db, chain):
    """The applicant's generic edit of an approved application (amount=1.00) is 403; filing
    then records the approved amount in the recourse ledger, the amount written off."""
    app_id = approved(app, db, chain)
    collector = wv.client_for(app, chain["collector"])
    url = f"/admin/writeoff_application/edit/?id={app_id}"
    form = {  # what the old edit form posted, with the amount cut to 1.00
        "customer": chain["customer"].id,
        "ground": "hopeless",
        "amount": "1.00",
        "facts": "客户已注销，经多次催收无果",
        "materials_missing_reason": "合同原件由法院留存",
        "materials_due_on": wv.DUE,
    }
    response = wv.post(collector, url, form, wv.base(app_id))
    assert response.status_code == 403
    assert collector.get(url).status_code == 403
    assert wv.fresh(db, app_id).amount == Decimal("42000.50")

    page = wv.base(app_id)
    credit = wv.client_for(app, chain["credit"])
    finance = wv.client_for(app, chain["finance"])
    assert wv.post(credit, page + "file", {}, page).status_code == 303
    assert wv.post(finance, page + "file", {"accounting_ref": "记-1"}, page).status_code == 303
    entry = db.session.scalar(select(RecourseEntry).where(RecourseEntry.application_id == app_id))
    items = db.session.scalar(
        select(func.sum(WriteOffItem.amount)).where(WriteOffItem.application_id == app_id)
    )
    assert entry.written_off == items == Decimal("42000.50")


def test_team_lead_cannot_inflate_an_application_in_approval(app, db, chain):
    """A team lead (not the applicant) setting an application in approval to 999,999,999.00
    through the generic edit, ajax update or bulk delete is refused; nothing changes."""
    app_id = wv.draft(app, chain)
    wv.make_ready(app, db, chain, app_id)
    lead = wv.client_for(app, chain["lead"])
    token = csrf_from(lead.get(wv.base(app_id)).get_data(as_text=True))
    form = {
        "customer": chain["customer"].id,
        "ground": "hopeless",
        "amount": "999999999.00",
        "facts": "客户已注销，经多次催收无果",
    }
    for url, data in (
        (f"/admin/writeoff_application/edit/?id={app_id}", form),
        ("/admin/writeoff_application/ajax/update/", {"list_form_pk": app_id, "amount": "1"}),
        ("/admin/writeoff_application/action/", {"action": "delete", "rowid": app_id}),
        ("/admin/writeoff_application/delete/", {"id": app_id}),
    ):
        assert lead.post(url, data={**data, "csrf_token": token}).status_code == 403, url
    application = wv.fresh(db, app_id)
    assert application.amount == Decimal("42000.50")
    assert application.status is WriteOffStatus.IN_APPROVAL
    # The generic create form leads to the application form, where the rules are checked.
    created = lead.post("/admin/writeoff_application/new/", data={"csrf_token": token})
    assert created.status_code == 302
    assert created.headers["Location"].endswith("/admin/writeoff_application/apply/")


# -- 2. finance and the admin-only year-end transfer ---------------------------------------------


def test_finance_cannot_rerun_the_year_end_transfer(app, db, client, login_as, redis_conn):
    """Finance's re-run of the year-end-archive job is 403 (the transfer is the admin's, Art.22)
    and queues nothing; finance keeps re-running its own monthly run; the admin may re-run."""
    archive = JobRun(
        rq_job_id="year-end-archive-2026", name="year_end_archive", status=JobStatus.FINISHED
    )
    monthly = JobRun(rq_job_id="monthly-run-2026-05", name="monthly_run", status=JobStatus.FAILED)
    db.session.add_all([archive, monthly])
    db.session.commit()
    login_as("finance")
    listing = client.get("/admin/job_run/").get_data(as_text=True)
    assert f"/admin/job_run/{archive.id}/rerun" not in listing
    assert f"/admin/job_run/{monthly.id}/rerun" in listing
    runs = client.get(f"/admin/job_run/progress.json?id={archive.id}&id={monthly.id}").get_json()
    assert {r["name"]: r["rerunnable"] for r in runs["runs"]} == {
        "year_end_archive": False,
        "monthly_run": True,
    }
    token = csrf_from(listing)
    response = client.post(f"/admin/job_run/{archive.id}/rerun", data={"csrf_token": token})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(JobRun, archive.id).status is JobStatus.FINISHED
    label = job_label("year_end_archive")
    assert any(d.startswith("无权运行：") and label in d for d in denied(db)), denied(db)

    admin = helpers.fresh_client(app)
    helpers.login(admin, helpers.make_user("admin").username)
    token = helpers.csrf_token(admin, "/admin/job_run/")
    assert admin.post(f"/admin/job_run/{archive.id}/rerun", data={"csrf_token": token}).status_code
    db.session.expire_all()
    assert db.session.get(JobRun, archive.id).status is JobStatus.QUEUED


# -- 4. the case edit form -----------------------------------------------------------------------


@pytest.fixture()
def cases(app, db):
    """Two units of one company, a case in unit A, a customer in unit B, a second customer of
    A with a case of its own, and legal and a team lead (both see every unit)."""
    unit_a = helpers.make_unit(name="华东事业部")
    unit_b = helpers.make_unit(unit_a.company, name="华北事业部")
    case = helpers.make_case(helpers.make_customer(unit_a), status=CaseStatus.IN_PROGRESS)
    taken = helpers.make_case(helpers.make_customer(unit_a))
    return {
        "case": case,
        "other_unit_customer": helpers.make_customer(unit_b, name="北京恒信建材有限公司"),
        "taken_customer_id": taken.customer_id,
        "collector_b": helpers.make_user("collector", units=[unit_b]),
        "legal": helpers.make_user("legal", locale="en"),
        "lead": helpers.make_user("team_lead", locale="en"),
    }


def edit_case(app, user, case_id: int, data: dict):
    client = wv.client_for(app, user)
    url = f"/admin/collection_case/edit/?id={case_id}"
    token = csrf_from(client.get(url).get_data(as_text=True))
    return client, client.post(url, data={**data, "csrf_token": token}, follow_redirects=True)


def test_legal_cannot_move_a_case_to_another_units_customer(app, db, cases):
    """Legal's edit of the case to unit B's customer is refused with a message; the case keeps
    its customer and unit, and B's collector still does not see it."""
    case = cases["case"]
    before = (case.customer_id, case.sales_unit_id)
    _, response = edit_case(
        app, cases["legal"], case.id, {"customer": cases["other_unit_customer"].id}
    )
    assert response.status_code == 200
    assert "cannot be changed here" in response.get_data(as_text=True)
    db.session.expire_all()
    case = db.session.get(CollectionCase, case.id)
    assert (case.customer_id, case.sales_unit_id) == before
    assert any("customer" in d for d in refused(db))
    collector = wv.client_for(app, cases["collector_b"])
    assert case.case_no not in collector.get("/admin/collection_case/").get_data(as_text=True)


def test_case_edit_to_a_customer_with_a_case_is_a_clear_refusal(app, db, cases):
    """Moving a case to a customer who already has an open case is refused with a message,
    not a 500; nothing changes."""
    case = cases["case"]
    _, response = edit_case(app, cases["lead"], case.id, {"customer": cases["taken_customer_id"]})
    assert response.status_code == 200
    assert "cannot be changed here" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CollectionCase, case.id).customer_id == cases["case"].customer_id


def test_strategy_override_without_reason_is_refused_everywhere(app, db, cases):
    """An override with an empty reason is refused through the case edit form and the case
    file (Art.23); the lead is still assigned through the edit form."""
    case = cases["case"]
    _, response = edit_case(
        app,
        cases["lead"],
        case.id,
        {"strategy_override": Strategy.LITIGATION.value, "override_reason": ""},
    )
    assert "cannot be changed here" in response.get_data(as_text=True)
    client, response = edit_case(app, cases["lead"], case.id, {"lead": cases["legal"].id})
    assert response.status_code == 200
    page = f"/admin/collection_case/file/{case.id}"
    strategy = wv.post(
        client, page + "/strategy", {"strategy": Strategy.LITIGATION.value, "reason": " "}, page
    )
    assert strategy.status_code == 409
    db.session.expire_all()
    case = db.session.get(CollectionCase, case.id)
    assert case.strategy_override is None and case.override_reason is None
    assert case.lead_id == cases["legal"].id


# -- 6. user enumeration through look-ups --------------------------------------------------------


def test_collector_cannot_list_users_through_ajax_lookups(app, db, client, login_as):
    """A collector's ajax look-up of receivable collectors is 403, like the user list; the
    user picker on a form they may fill offers only active colleagues of their own units."""
    unit, other = helpers.make_unit(), helpers.make_unit()
    colleague = helpers.make_user("collector", units=[unit], display_name="同事甲")
    stranger = helpers.make_user("collector", units=[other], display_name="外人乙")
    helpers.make_user("admin", display_name="管理员丙")
    helpers.make_user("collector", units=[unit], display_name="离职丁", active=False)
    login_as("collector", units=[unit])
    assert client.get("/admin/user/").status_code == 403
    for name in ("collector", "follow_up_clerk"):
        url = f"/admin/receivable/ajax/lookup/?name={name}&query="
        assert client.get(url).status_code == 403
    form = client.get("/admin/collection_action/new/").get_data(as_text=True)
    assert colleague.display_name in form
    assert stranger.display_name not in form
    assert "管理员丙" not in form and "离职丁" not in form


def test_lookups_follow_the_form_and_the_right_to_view_users(app, db, client, login_as):
    """A team lead's look-up of a case lead lists active users only; a governed field's
    look-up is gone; the admin (who may view users) looks up everyone."""
    helpers.make_user("legal", display_name="法务甲")
    helpers.make_user("legal", display_name="停用乙", active=False)
    login_as("team_lead")
    url = "/admin/collection_case/ajax/lookup/?name=lead&query="
    names = [text for _, text in client.get(url).get_json()]
    assert "法务甲" in names and "停用乙" not in names
    gone = client.get("/admin/collection_case/ajax/lookup/?name=customer&query=")
    assert gone.status_code == 404
    closed = client.get("/admin/writeoff_application/ajax/lookup/?name=customer&query=")
    assert closed.status_code == 403
    admin = helpers.fresh_client(app)
    helpers.login(admin, helpers.make_user("admin").username)
    names = [text for _, text in admin.get(url).get_json()]
    assert "停用乙" in names


# -- 7. open redirects ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "http:/evil.example",
        "http://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "https:evil",
    ],
)
def test_bulk_action_url_stays_on_the_site(app, db, client, login_as, target):
    """A bulk action's ``url`` naming another site redirects to the list instead."""
    user = login_as("collector")
    note = Notification(user_id=user.id, title="提醒")
    db.session.add(note)
    db.session.commit()
    token = helpers.csrf_token(client, "/admin/notification/")
    response = client.post(
        "/admin/notification/action/",
        data={"action": "mark_read", "rowid": note.id, "url": target, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/notification/"
    db.session.expire_all()
    assert db.session.get(Notification, note.id).read_at is not None


def test_local_return_urls_are_kept_and_edit_forms_checked_too(app, db, client, login_as):
    """A path on the site is kept as the return target; the edit form's ``url`` passes the
    same check."""
    user = login_as("collector")
    note = Notification(user_id=user.id, title="提醒")
    db.session.add(note)
    db.session.commit()
    token = helpers.csrf_token(client, "/admin/notification/")
    kept = client.post(
        "/admin/notification/action/",
        data={
            "action": "mark_read",
            "rowid": note.id,
            "url": "/admin/notification/?page=1",
            "csrf_token": token,
        },
    )
    assert kept.headers["Location"] == "/admin/notification/?page=1"
    helpers.make_user("admin", username="door-admin")
    admin = helpers.fresh_client(app)
    helpers.login(admin, "door-admin")
    company = helpers.make_company()
    url = f"/admin/company/edit/?id={company.id}&url=http:/evil.example"
    token = helpers.csrf_token(admin, url)
    response = admin.post(url, data={"code": company.code, "name": "改名公司", "csrf_token": token})
    assert response.status_code == 302
    assert "evil" not in response.headers["Location"]
    db.session.expire_all()
    assert db.session.get(type(company), company.id).name == "改名公司"


def test_parts_of_a_closed_case_do_not_change_through_generic_forms(app, db, cases):
    """A collection action added to, or deleted from, a closed case through the generic forms
    is refused (Art.21); on an open case both work."""
    from backoffice.models.case import ActionKind, CollectionAction

    open_case = cases["case"]
    closed = helpers.make_case(helpers.make_customer(helpers.make_unit()), status=CaseStatus.CLOSED)
    old = CollectionAction(case_id=closed.id, kind=ActionKind.PHONE, on=date(2026, 3, 2))
    db.session.add(old)
    db.session.commit()
    client = wv.client_for(app, cases["lead"])
    token = helpers.csrf_token(client, "/admin/collection_action/new/")

    def add(case_id: int):
        data = {"case": case_id, "kind": ActionKind.VISIT.value, "on": "2026-03-05"}
        return client.post(
            "/admin/collection_action/new/",
            data={**data, "csrf_token": token},
            follow_redirects=True,
        )

    def count(case_id: int) -> int:
        db.session.expire_all()
        return db.session.scalar(select(func.count()).where(CollectionAction.case_id == case_id))

    refused_before = len(refused(db))
    assert "cannot change" in add(closed.id).get_data(as_text=True)
    admin = wv.client_for(app, helpers.make_user("admin"))
    deleted = admin.post(
        "/admin/collection_action/delete/",
        data={"id": old.id, "csrf_token": helpers.csrf_token(admin, "/admin/collection_action/")},
    )
    assert deleted.status_code == 302
    assert count(closed.id) == 1 and len(refused(db)) == refused_before + 2
    assert add(open_case.id).status_code == 200
    assert count(open_case.id) == 1
