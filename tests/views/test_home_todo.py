"""Each role's home page starts with its own to-do (issue 11): counts and links of the work
waiting for that user, in Chinese, limited to what the user may see, in a few statements."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import event, select

from backoffice.extensions import db as _db
from backoffice.models import User, WriteOffApplication
from backoffice.models.monthly import ConfirmationForm, FormStatus
from backoffice.models.writeoff import WriteOffStatus
from backoffice.services import audit, demo, todo
from backoffice.services import writeoff as writeoff_service
from tests import helpers
from tests.conftest import _truncate

ITEM_RE = re.compile(
    r'data-todo="([a-z_]+)"[^>]*>\s*<a href="([^"]+)"[^>]*>\s*(.*?)\s*<span[^>]*>(\d+)</span>',
    re.S,
)
MINE = ("tasks", "inbox")
#: demo user → the kinds of work on their to-do, in order.
EXPECTED = {
    "admin": (*MINE, "imports_failed", "jobs_failed", "alerts"),
    "leader": (*MINE, "approvals"),
    "cfo": (*MINE, "approvals"),
    "vp": (*MINE, "approvals"),
    "teamlead": (*MINE, "approvals", "cases_to_decide", "documents_due", "instalments_late"),
    "finance": (*MINE, "forms_to_route", "writeoffs_to_file", "imports_failed", "jobs_failed"),
    "legal": (*MINE, "documents_due"),
    "credit": (*MINE, "writeoffs_to_file"),
    "collector": (*MINE, "forms_to_answer", "instalments_late"),
    "auditor": (*MINE, "archives", "alerts"),
}
#: demo user → kinds the small demo story gives work in (write-offs and the archive need the
#: full set; their counts are tested on rows made here, below).
BUSY = {
    "teamlead": {"documents_due"},
    "legal": {"documents_due"},
    "collector": {"forms_to_answer"},
}


@pytest.fixture(scope="class")
def demo_db(app):
    """The small demo set, seeded once for the class (read-only tests)."""
    with pytest.MonkeyPatch.context() as mp, app.app_context():
        mp.setattr(demo.data, "CUSTOMER_COUNT", 30)
        mp.setattr(demo.data, "RECEIVABLE_COUNT", 300)
        with audit.acting_as(audit.Actor(None, "cli:test")):
            assert demo.seed_demo_data() is True
        yield _db
        _db.session.remove()
        _truncate()


def _home(app, username: str) -> str:
    with app.app_context():
        client = app.test_client()
        helpers.login(client, username, demo.DEMO_PASSWORD)
        response = client.get("/admin/")
        assert response.status_code == 200
        return response.get_data(as_text=True)


def _items(html: str) -> dict[str, tuple[str, str, int]]:
    return {k: (link, title, int(n)) for k, link, title, n in ITEM_RE.findall(html)}


def _user(username: str) -> User:
    return _db.session.scalar(select(User).where(User.username == username))


@pytest.mark.usefixtures("demo_db")
class TestDemoHomePages:
    @pytest.mark.parametrize("username", [u for u, *_ in demo.DEMO_USERS])
    def test_home_page_starts_with_the_roles_own_to_do(self, app, username):
        """The first thing in the page's body is the to-do; it lists the role's kinds of work
        (and no other role's), each with a count and a link, in Chinese."""
        html = _home(app, username)
        body = html[html.index("</nav>") :]
        assert body.index('id="todo"') < body.index("<h1 class=\"h4")  # before the figures
        assert "我的待办" in body[: body.index("<h1 class=\"h4")]
        items = _items(html)
        assert tuple(items) == EXPECTED[username]
        for key in BUSY.get(username, ()):
            assert items[key][2] > 0, f"{username}: nothing in {key}"
        for key, (link, title, _n) in items.items():
            assert re.search(r"[\u4e00-\u9fff]", title), f"{key}: title {title!r} not Chinese"
            assert link.startswith(("/admin/", "#")), link

    @pytest.mark.parametrize("username", [u for u, *_ in demo.DEMO_USERS])
    def test_every_to_do_link_opens_for_its_user(self, app, username):
        """No to-do link leads to a refusal: each one is a page the user may open."""
        with app.app_context():
            client = app.test_client()
            helpers.login(client, username, demo.DEMO_PASSWORD)
            html = client.get("/admin/").get_data(as_text=True)
            for key, (link, _title, _n) in _items(html).items():
                if link.startswith("#"):
                    assert f'id="{link[1:]}"' in html, key
                    continue
                assert client.get(link).status_code == 200, f"{username}: {key} → {link}"

    def test_approvals_count_what_may_approve_allows(self, app):
        """For every demo user, the approvals item counts exactly the applications in approval
        that ``writeoff.may_approve`` lets them decide (Art.18), so the leader sees the ones
        at their own step and no other."""
        with app.app_context():
            apps = _db.session.scalars(
                select(WriteOffApplication).where(
                    WriteOffApplication.status == WriteOffStatus.IN_APPROVAL
                )
            ).all()
            for username, *_ in demo.DEMO_USERS:
                user = _user(username)
                expected = sum(writeoff_service.may_approve(_db.session, a, user) for a in apps)
                counted, _late = todo.approvals_waiting(user, date.today())
                assert counted == expected, username

    def test_collector_counts_only_their_units_forms(self, app):
        """The collector's forms to answer are their own unit's; a unit-free reader (the
        auditor, who may not answer) has no such item at all."""
        with app.app_context():
            collector = _user("collector")
            open_forms = _db.session.scalars(
                select(ConfirmationForm).where(
                    ConfirmationForm.status.in_([FormStatus.ISSUED, FormStatus.RETURNED])
                )
            ).all()
            mine = [f for f in open_forms if f.sales_unit_id in collector.unit_ids]
            other = _db.session.scalars(
                select(ConfirmationForm).where(
                    ConfirmationForm.sales_unit_id.not_in(collector.unit_ids)
                )
            ).first()
            other.status = FormStatus.ISSUED  # another unit's open form, never committed
            _db.session.flush()
            try:
                assert mine and other not in mine
                assert todo.forms_to_answer(collector, date.today())[0] == len(mine)
            finally:
                _db.session.rollback()
            assert "forms_to_answer" not in {k.key for k in todo.kinds_for(_user("auditor"))}

    def test_the_whole_to_do_costs_one_statement(self, app):
        """The to-do reads every kind of the user's roles in one SQL statement."""
        with app.test_request_context():
            for username in ("admin", "teamlead", "finance"):
                user = _user(username)
                statements = []

                def count(*args, _s=statements, **kwargs):
                    _s.append(args[2])

                event.listen(_db.engine, "before_cursor_execute", count)
                try:
                    todo.todo_items(user, date.today())
                finally:
                    event.remove(_db.engine, "before_cursor_execute", count)
                assert len(todo.kinds_for(user)) >= 3 and len(statements) == 1, username


def test_wrong_role_sees_no_approval_and_counts_only_scope(client, db, login_as):
    """A collector has no approvals or failed-jobs item; a team lead of one company does not
    count another company's case applications."""
    from backoffice.models.case import CaseStatus

    home = helpers.make_company("HQ")
    other = helpers.make_company("OT")
    unit_home = helpers.make_unit(home)
    unit_other = helpers.make_unit(other)
    helpers.make_case(helpers.make_customer(unit_home), status=CaseStatus.APPLIED)
    helpers.make_case(helpers.make_customer(unit_other), status=CaseStatus.APPLIED)
    user = login_as("collector", units=[unit_home])
    items = _items(client.get("/admin/").get_data(as_text=True))
    assert {"tasks", "inbox"} <= set(items)
    assert not {"approvals", "jobs_failed", "imports_failed", "cases_to_decide"} & set(items)
    lead = helpers.make_user("team_lead", company_id=home.id)
    assert todo.cases_to_decide(lead, date.today())[0] == 1
    everyone = helpers.make_user("team_lead")
    assert todo.cases_to_decide(everyone, date.today())[0] == 2
    assert user.id != lead.id


def _application(customer, applicant, status, step=None, **kw) -> WriteOffApplication:
    from decimal import Decimal

    from backoffice.models.writeoff import WriteOffGround

    app = WriteOffApplication(
        app_no=f"HX-{status.value}-{step.value if step else 'none'}",
        customer_id=customer.id,
        applicant_id=applicant.id,
        company_id=customer.company_id,
        sales_unit_id=customer.sales_unit_id,
        ground=WriteOffGround.HOPELESS,
        amount=Decimal("100.00"),
        facts="事实",
        status=status,
        current_step=step,
        **kw,
    )
    _db.session.add(app)
    _db.session.commit()
    return app


def test_each_leader_sees_the_approvals_at_their_own_step(client, db, login_as):
    """Art.18: the president's to-do counts the application at the president's step, the CFO's
    and the VP's do not; the VP counts only the units they lead; the team lead the review."""
    from backoffice.models.user import LeaderTitle
    from backoffice.models.writeoff import ApprovalStep

    unit = helpers.make_unit()
    customer = helpers.make_customer(unit)
    collector = helpers.make_user("collector", units=[unit])
    _application(customer, collector, WriteOffStatus.IN_APPROVAL, ApprovalStep.PRESIDENT)
    _application(customer, collector, WriteOffStatus.IN_APPROVAL, ApprovalStep.DIVISION_VP)
    president = helpers.make_user("leader", leader_title=LeaderTitle.PRESIDENT)
    cfo = helpers.make_user("leader", leader_title=LeaderTitle.CFO)
    vp = helpers.make_user("leader", leader_title=LeaderTitle.DIVISION_VP)
    other_vp = helpers.make_user("leader", leader_title=LeaderTitle.DIVISION_VP)
    lead = helpers.make_user("team_lead")
    unit.vp_id = vp.id
    db.session.commit()
    today = date.today()
    assert todo.approvals_waiting(president, today)[0] == 1
    assert todo.approvals_waiting(cfo, today)[0] == 0
    assert todo.approvals_waiting(vp, today)[0] == 1
    assert todo.approvals_waiting(other_vp, today)[0] == 0
    assert todo.approvals_waiting(lead, today)[0] == 0
    helpers.login(client, president.username)
    items = _items(client.get("/admin/").get_data(as_text=True))
    assert items["approvals"][2] == 1 and items["approvals"][1] == "待我审批的核销申请"


def test_filing_and_archives_reach_the_roles_that_do_them(db):
    """Art.19: an approved write-off waits for each filing role until that role filed it;
    Art.22: the auditor's to-do counts the sealed archives."""
    from backoffice.models import ArchiveRecord
    from backoffice.models.base import utcnow

    unit = helpers.make_unit()
    customer = helpers.make_customer(unit)
    collector = helpers.make_user("collector", units=[unit])
    finance = helpers.make_user("finance")
    credit = helpers.make_user("credit")
    _application(
        customer, collector, WriteOffStatus.APPROVED, filed_by_finance_id=finance.id
    )
    today = date.today()
    assert todo.writeoffs_to_file(finance, today)[0] == 0
    assert todo.writeoffs_to_file(credit, today)[0] == 1
    case = helpers.make_case(customer)
    db.session.add(
        ArchiveRecord(
            archive_no="GD2025-0001", case_id=case.id, customer_id=customer.id, year=2025,
            amount=100, company_id=customer.company_id, sales_unit_id=customer.sales_unit_id,
            sealed_at=utcnow(),
        )
    )  # fmt: skip
    db.session.commit()
    assert todo.archives_to_verify(helpers.make_user("auditor"), today)[0] == 1
