"""The command line: ``audit verify`` finds tampering; ``users create`` makes a login."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from backoffice.extensions import db as _db
from backoffice.models import AuditLog, User
from backoffice.models.user import RoleName
from tests import helpers


@pytest.fixture()
def runner(app, db):
    return app.test_cli_runner()


def _seed_chain(n: int = 4) -> list[AuditLog]:
    for _ in range(n):
        helpers.make_company()
    return list(_db.session.scalars(select(AuditLog).order_by(AuditLog.seq)))


def test_verify_passes_on_an_intact_chain(runner):
    """An untouched trail verifies."""
    rows = _seed_chain()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"intact: {len(rows)} entries" in result.output


def test_verify_names_an_altered_entry(runner):
    """Changing an entry's ``after`` with SQL makes verify fail and name its seq."""
    rows = _seed_chain()
    target = rows[1]
    with _db.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET after = :v WHERE id = :id"),
            {"v": '{"name": "forged"}', "id": target.id},
        )
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"seq {target.seq}" in result.output
    assert "does not match" in result.output


def test_verify_names_a_deleted_middle_entry(runner):
    """Deleting a middle entry with SQL makes verify fail and name the missing seq."""
    rows = _seed_chain()
    target = rows[len(rows) // 2]
    with _db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": target.id})
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"seq {target.seq}" in result.output
    assert "missing" in result.output


def test_users_create_with_role_unit_and_password_from_stdin(runner, app):
    """``users create`` makes a collector of a unit who can then log in."""
    unit = helpers.make_unit(code="EAST")
    result = runner.invoke(
        args=[
            "users",
            "create",
            "zhang",
            "--role",
            "collector",
            "--unit",
            "EAST",
            "--password-stdin",
        ],
        input="Str0ng-pass\n",
    )
    assert result.exit_code == 0, result.output
    _db.session.expire_all()
    user = _db.session.scalar(select(User).where(User.username == "zhang"))
    assert user.role_names == {RoleName.COLLECTOR}
    assert user.unit_ids == {unit.id}
    created = _db.session.scalars(
        select(AuditLog).where(AuditLog.entity == "user", AuditLog.action == "create")
    ).all()
    assert created and created[-1].actor.startswith("cli:")
    helpers.login(helpers.fresh_client(app), "zhang", "Str0ng-pass")


def test_users_create_refuses_weak_password_and_unknown_unit(runner):
    """A weak password or an unknown unit code creates nobody."""
    helpers.make_unit(code="EAST")
    weak = runner.invoke(
        args=["users", "create", "li", "--role", "collector", "--password-stdin"], input="abc\n"
    )
    assert weak.exit_code != 0
    unknown = runner.invoke(
        args=["users", "create", "li", "--role", "collector", "--unit", "NOPE", "--password-stdin"],
        input="Str0ng-pass\n",
    )
    assert unknown.exit_code != 0 and "NOPE" in unknown.output
    assert _db.session.scalar(select(User).where(User.username == "li")) is None
