"""The losing side of a race over HTTP (issue 10 items 5 and 14): a request whose record was
decided by someone else between its read and its decision gets a 409 page with a Chinese
message, never a 500 and never a second effect. "Someone else" is a real acceptance,
decision or return committed in a transaction of its own at exactly that moment."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.extensions import db as _db
from backoffice.models import ApprovalDecision, AuditLog, CollectionCase, Task, User
from backoffice.models.case import CaseStatus
from backoffice.models.monthly import ConfirmationForm, FormStatus
from backoffice.models.notification import TaskKind
from backoffice.models.writeoff import ApprovalStep, Decision, WriteOffApplication
from backoffice.services import cases
from backoffice.services import confirmation as conf
from backoffice.services import writeoff as wo
from tests import helpers
from tests.services.test_transitions import TODAY, application  # noqa: F401 (fixture)
from tests.views.test_confirmation_views import (  # noqa: F401 (fixture)
    answer_data,
    cycle,
    reason_id,
    status_of,
)
from tests.views.test_writeoff_views import (  # noqa: F401 (fixture)
    base,
    chain,
    draft,
    make_ready,
)

CONFLICT = "该记录刚刚已被他人处理，请刷新页面后重试。"


def meanwhile(fn) -> None:
    """Run ``fn(session)`` in a transaction of its own and commit it: the other user's
    request, winning the race."""
    with Session(_db.engine) as session:
        fn(session)
        session.commit()


def client_for(app, user):
    client = helpers.fresh_client(app)
    helpers.login(client, user.username)
    return client


def post(client, url: str, data: dict, token_page: str):
    token = helpers.csrf_token(client, token_page)
    return client.post(url, data={**data, "csrf_token": token})


def stored_files(app) -> set[str]:
    root = Path(app.config["STORAGE_DIR"])
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_losing_acceptance_gets_a_409_page_and_files_nothing(app, db, application, monkeypatch):  # noqa: F811
    """A lead's acceptance that another lead beat gets the 409 case page with the Chinese
    message; the case is filed once, by the winner, with one notice."""
    case_id = application["case_id"]
    loser, winner = (db.session.get(User, i) for i in application["lead_ids"])
    real_accept = cases.accept

    def accept_after_the_other_lead(session, case, user_id, on):
        meanwhile(lambda s: real_accept(s, s.get(CollectionCase, case_id), winner.id, on))
        real_accept(session, case, user_id, on)

    monkeypatch.setattr(cases, "accept", accept_after_the_other_lead)
    files = stored_files(app)
    client = client_for(app, loser)
    page = f"/admin/collection_case/file/{case_id}"
    response = post(client, f"{page}/accept", {}, page)
    assert response.status_code == 409
    assert CONFLICT in response.get_data(as_text=True)
    db.session.expire_all()
    case = db.session.get(CollectionCase, case_id)
    assert case.status is CaseStatus.DOCUMENTS_REQUESTED and case.decided_by_id == winner.id
    assert stored_files(app) - files == {case.filing_notice_key}
    filed = db.session.scalars(
        select(AuditLog.after).where(
            AuditLog.entity == "collection_case", AuditLog.entity_id == str(case_id)
        )
    ).all()
    assert sum(1 for a in filed if a and a.get("status") == "filed") == 1


def test_losing_writeoff_decision_gets_a_409_page(app, db, chain, monkeypatch):  # noqa: F811
    """A team review decided by another lead between this lead's read and decision gets the
    409 application page with the Chinese message; one decision is recorded."""
    app_id = draft(app, chain)
    make_ready(app, db, chain, app_id)
    loser, winner = chain["lead"], chain["lead2"]
    for user in (loser, winner):
        user.locale = "zh_Hans_CN"  # the default Chinese UI
    db.session.commit()
    real_decide = wo.decide

    def decide_after_the_other_lead(session, app_, user, step, decision, comment):
        meanwhile(
            lambda s: real_decide(
                s,
                s.get(WriteOffApplication, app_id),
                s.get(User, winner.id),
                step,
                decision,
                "同意",
            )
        )
        return real_decide(session, app_, user, step, decision, comment)

    monkeypatch.setattr(wo, "decide", decide_after_the_other_lead)
    client = client_for(app, loser)
    page = base(app_id)
    data = {"step": ApprovalStep.TEAM_REVIEW.value, "decision": Decision.APPROVED.value}
    response = post(client, page + "decide", {**data, "comment": "同意"}, page)
    assert response.status_code == 409
    assert CONFLICT in response.get_data(as_text=True)
    decisions = db.session.scalars(select(ApprovalDecision)).all()
    assert [d.user_id for d in decisions] == [winner.id]
    db.session.expire_all()
    assert db.session.get(WriteOffApplication, app_id).current_step is ApprovalStep.DIVISION_VP


def test_routing_a_form_returned_meanwhile_gets_the_409_page(app, db, cycle, monkeypatch):  # noqa: F811
    """Finance routing a form that another finance user returned meanwhile gets the app-wide
    409 page (Chinese message, link back) instead of a 500; no follow-up task is opened."""
    form_id = cycle["form"]
    collector = client_for(app, cycle["collector"])
    answer_url = f"/admin/confirmation_form/answer/{form_id}"
    external = reason_id(db, "客户无故拖欠货款")
    lines = db.session.get(ConfirmationForm, form_id).lines
    data = {"op": "submit"}
    for line in lines:
        data.update(answer_data(line.id, external, "external", "100"))
    assert post(collector, answer_url, data, answer_url).status_code == 303
    real_route = conf.route_form

    def route_after_the_return(session, form, router_id, overrides=None):
        meanwhile(lambda s: conf.return_form(s, s.get(ConfirmationForm, form_id), "金额有误"))
        return real_route(session, form, router_id, overrides)

    monkeypatch.setattr(conf, "route_form", route_after_the_return)
    finance = client_for(app, cycle["finance"])
    route_url = f"/admin/confirmation_form/route/{form_id}"
    response = post(finance, route_url, {}, route_url)
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert CONFLICT in body and "409" in body
    assert status_of(db, form_id) is FormStatus.RETURNED
    follow_ups = select(func.count()).select_from(Task).where(Task.kind == TaskKind.FOLLOW_UP)
    assert db.session.scalar(follow_ups) == 0
    refused = select(AuditLog.detail).where(AuditLog.action == "refused")
    assert CONFLICT in db.session.scalars(refused).all()
