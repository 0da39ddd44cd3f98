"""The token screen: administrators create (secret shown once) and revoke; auditors look;
every other role is refused, and the audit trail says so."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from backoffice.models import ApiToken, AuditLog, RoleName
from backoffice.permissions import Action, can
from tests import helpers


class _Role:
    is_authenticated = True

    def __init__(self, role):
        self.role_names = frozenset({RoleName(role)})


def _form(client, csrf, **values):
    data = {"csrf_token": csrf("/admin/api-tokens/new"), **values}
    return client.post("/admin/api-tokens/new", data=data)


def test_an_admin_creates_a_token_and_sees_it_once(client, login_as, csrf, db):
    """The secret is on the creation page only; the list shows its first characters."""
    company = helpers.make_company(name="清欠集团")
    login_as("admin")
    response = _form(
        client,
        csrf,
        name="金蝶夜间同步",
        company=str(company.id),
        scopes=["receivables:write", "customers:read"],
        expires="2099-12-31",
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    secret = re.search(r'id="new-token"[^>]*>(qq_[A-Za-z0-9_-]+)<', page).group(1)
    token = db.session.scalar(select(ApiToken))
    assert (token.name, token.company_id) == ("金蝶夜间同步", company.id)
    assert token.scopes == ["receivables:write", "customers:read"]
    assert token.expires_at.isoformat().startswith("2099-12-31T16:00")  # end of the day, Shanghai
    listing = client.get("/admin/api-tokens/").get_data(as_text=True)
    assert secret not in listing and token.prefix in listing
    assert "推送应收账款" in listing and "2099-12-31" in listing
    # The secret works on the API, and only there.
    api = client.get("/api/v1/customers", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200


def test_a_token_form_with_problems_is_refused_with_a_reason(client, login_as, csrf, db):
    """No permission chosen, or an expiry in the past: nothing created, the reason shown."""
    company = helpers.make_company()
    login_as("admin")
    page = _form(client, csrf, name="x", company=str(company.id)).get_data(as_text=True)
    assert "请至少选择一项权限。" in page
    page = _form(
        client, csrf, name="x", company=str(company.id), scopes="cases:read", expires="2001-01-01"
    ).get_data(as_text=True)
    assert "到期日必须晚于今天。" in page
    assert db.session.scalar(select(db.func.count()).select_from(ApiToken)) == 0


def test_an_admin_revokes_a_token(client, login_as, csrf, make_token, db):
    """Revoking from the list stops the token at once."""
    token, headers = make_token()
    login_as("admin")
    response = client.post(
        f"/admin/api-tokens/{token.id}/revoke", data={"csrf_token": csrf("/admin/api-tokens/")}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    assert client.get("/api/v1/customers", headers=headers).status_code == 401


@pytest.mark.parametrize("role", [r.value for r in RoleName])
def test_each_role_gets_what_the_permission_table_grants(
    client, login_as, csrf, make_token, role, db
):
    """List, create and revoke follow PERMISSIONS['api_token']; refusals are 403 and audited."""
    token, _ = make_token()
    login_as(role)
    user = _Role(role)
    may_view = can(user, "api_token", Action.VIEW)
    may_create = can(user, "api_token", Action.CREATE)
    may_revoke = can(user, "api_token", Action.EDIT)
    assert client.get("/admin/api-tokens/").status_code == (200 if may_view else 403)
    token_csrf = csrf("/account")
    create = client.post(
        "/admin/api-tokens/new",
        data={
            "csrf_token": token_csrf,
            "name": f"by-{role}",
            "company": str(token.company_id),
            "scopes": "cases:read",
        },
    )
    assert create.status_code == (200 if may_create else 403)
    revoke = client.post(f"/admin/api-tokens/{token.id}/revoke", data={"csrf_token": token_csrf})
    assert revoke.status_code == (302 if may_revoke else 403)
    db.session.expire_all()
    assert (db.session.get(ApiToken, token.id).revoked_at is not None) == may_revoke
    created = db.session.scalar(select(ApiToken).where(ApiToken.name == f"by-{role}"))
    assert (created is not None) == may_create
    if not may_view:
        denials = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "denied", AuditLog.entity == "api_token")
        ).all()
        assert len(denials) == 3
    html = client.get("/admin/").get_data(as_text=True)
    assert ("/admin/api-tokens/" in html) == may_view  # in the System menu for those who may


def test_only_admins_create_and_auditors_only_look():
    """The table: admin creates and revokes; auditor views; nobody deletes."""
    assert can(_Role("admin"), "api_token", Action.CREATE)
    assert can(_Role("auditor"), "api_token", Action.VIEW)
    assert not can(_Role("auditor"), "api_token", Action.EDIT)
    assert not any(can(_Role(r.value), "api_token", Action.DELETE) for r in RoleName)
    assert not can(_Role("finance"), "api_token", Action.VIEW)
