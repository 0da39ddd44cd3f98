"""The audit trail: UI changes with before/after and actor, logins, denials, append-only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backoffice.extensions import db as _db
from backoffice.models import AuditLog, Company
from backoffice.services import audit
from tests import helpers


def entries(**where) -> list[AuditLog]:
    _db.session.expire_all()
    stmt = select(AuditLog).order_by(AuditLog.seq)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditLog, key) == value)
    return list(_db.session.scalars(stmt))


@pytest.fixture()
def admin(app, db):
    client = helpers.fresh_client(app)
    user = helpers.make_user("admin", username="boss")
    helpers.login(client, "boss")
    client.user = user
    client.token = helpers.csrf_token(client, "/account")
    return client


def test_ui_create_update_delete_are_audited_with_values_and_actor(admin):
    """Create, update and delete through the admin record who, before and after."""
    t = admin.token
    assert (
        admin.post(
            "/admin/company/new/", data={"code": "A1", "name": "甲公司", "csrf_token": t}
        ).status_code
        == 302
    )
    company = _db.session.scalar(select(Company).where(Company.code == "A1"))
    admin.post(
        f"/admin/company/edit/?id={company.id}",
        data={"code": "A1", "name": "乙公司", "csrf_token": t},
    )
    admin.post("/admin/company/delete/", data={"id": company.id, "csrf_token": t})
    company_id = str(company.id)
    create, update, delete = (
        entries(entity="company", entity_id=company_id, action=a)[-1]
        for a in ("create", "update", "delete")
    )
    assert create.after["name"] == "甲公司" and create.before is None
    assert create.after["address"] is None  # unset columns are recorded as null
    assert update.before["name"] == "甲公司" and update.after["name"] == "乙公司"
    assert delete.before["name"] == "乙公司" and delete.after is None
    for entry in (create, update, delete):
        assert entry.actor == "boss" and entry.actor_id == admin.user.id


def test_denial_is_audited(app, db):
    """A refused request writes a 'denied' entry naming the user and the resource."""
    client = helpers.fresh_client(app)
    helpers.make_user("collector", username="col")
    helpers.login(client, "col")
    assert client.get("/admin/audit_log/").status_code == 403
    denied = entries(action="denied")[-1]
    assert denied.actor == "col" and denied.entity == "audit_log"


def test_login_and_failed_login_are_audited(app, db):
    """Logins and failed logins each leave an entry."""
    helpers.make_user("finance", username="fin")
    client = helpers.fresh_client(app)
    token = helpers.csrf_token(client)
    client.post("/login", data={"username": "fin", "password": "nope-1234", "csrf_token": token})
    helpers.login(client, "fin")
    assert entries(action="login_failed")[-1].detail == "fin"
    assert entries(action="login")[-1].actor == "fin"


def test_audit_entries_cannot_be_updated_or_deleted_through_the_orm(db):
    """The ORM refuses to change or delete an audit entry."""
    helpers.make_company()
    entry = entries()[-1]
    entry.detail = "tampered"
    with pytest.raises(PermissionError):
        _db.session.flush()
    _db.session.rollback()
    entry = entries()[-1]
    _db.session.delete(entry)
    with pytest.raises(PermissionError):
        _db.session.flush()
    _db.session.rollback()
    assert entries()[-1].detail != "tampered"
    assert audit.verify_chain(_db.session) == []


def test_audit_log_views_refuse_edit_and_delete_even_for_admin(admin):
    """Not even an admin can edit, delete or bulk-delete audit entries in the UI."""
    entry = entries()[-1]
    t = admin.token
    before = [(e.seq, e.hash) for e in entries()]
    assert admin.get(f"/admin/audit_log/edit/?id={entry.id}").status_code == 403
    assert (
        admin.post(
            f"/admin/audit_log/edit/?id={entry.id}", data={"detail": "x", "csrf_token": t}
        ).status_code
        == 403
    )
    assert (
        admin.post("/admin/audit_log/delete/", data={"id": entry.id, "csrf_token": t}).status_code
        == 403
    )
    assert (
        admin.post(
            "/admin/audit_log/action/",
            data={"action": "delete", "rowid": entry.id, "csrf_token": t},
        ).status_code
        == 403
    )
    assert (
        admin.post("/admin/audit_log/new/", data={"detail": "x", "csrf_token": t}).status_code
        == 403
    )
    after = [(e.seq, e.hash) for e in entries() if e.action != "denied"]
    assert after[: len(before)] == before
    assert audit.verify_chain(_db.session) == []


APPENDS = 150
NUMBERS = 60


def _race(app, db, work) -> None:
    """Run ``work(n)`` in two forked processes at once (``helpers.race``)."""
    helpers.race(app, lambda n, _together: work(n))


def test_concurrent_appends_from_separate_processes_keep_one_chain(app, db):
    """Two processes appending at once (two RQ workers, a worker and the web app) each read the
    chain's head and append; the head must be read under the write lock, or both take the same
    seq and one transaction fails. Each process appends entries while the other does."""

    def append_many(n: int) -> None:
        for i in range(APPENDS):
            audit.record(_db.session, "job", entity="test", entity_id=f"{n}-{i}", detail="race")
            _db.session.commit()

    _race(app, db, append_many)
    rows = db.session.scalars(select(AuditLog).order_by(AuditLog.seq)).all()
    assert [r.seq for r in rows] == list(range(1, 2 * APPENDS + 1))
    assert audit.verify_chain(db.session) == []


def test_concurrent_numbering_gives_consecutive_numbers(app, db):
    """Two processes numbering at once (two users filing write-offs, an escalation job and a
    team lead) get distinct consecutive numbers; none fails on the unique column."""
    from backoffice.services.numbering import next_number

    def number_many(n: int) -> None:
        for _ in range(NUMBERS):
            code = next_number(_db.session, Company.code, "T", 2026)
            _db.session.add(Company(code=code, name=f"编号测试 {code}"))
            _db.session.commit()

    _race(app, db, number_many)
    codes = sorted(db.session.scalars(select(Company.code)))
    assert codes == [f"T2026-{n:05d}" for n in range(1, 2 * NUMBERS + 1)]
