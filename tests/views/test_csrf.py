"""Every state-changing request without a valid CSRF token is refused (400), changing nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backoffice.extensions import db as _db
from backoffice.models import Company, User
from tests import helpers


@pytest.fixture()
def admin(app, db):
    client = helpers.fresh_client(app)
    user = helpers.make_user("admin", username="boss")
    helpers.login(client, user.username)
    return client


BAD_TOKENS = [None, "", "not-a-token", "IjAwMCI.invalid.signature"]


def companies() -> int:
    _db.session.expire_all()
    return _db.session.scalar(select(func.count()).select_from(Company))


def _with(data: dict, token) -> dict:
    return data if token is None else {**data, "csrf_token": token}


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_login_without_token_is_refused(app, db, token):
    """A login POST without a valid token does not log in."""
    helpers.make_user("finance", username="fin")
    client = helpers.fresh_client(app)
    response = client.post(
        "/login", data=_with({"username": "fin", "password": helpers.PASSWORD}, token)
    )
    assert response.status_code == 400
    assert client.get("/admin/receivable/").status_code == 302


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_logout_without_token_is_refused(admin, token):
    """Logout without a token leaves the session alive."""
    assert admin.post("/logout", data=_with({}, token)).status_code == 400
    assert admin.get("/admin/company/").status_code == 200


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_admin_writes_without_token_are_refused(admin, token):
    """Create, edit, delete, bulk action and ajax update all need the token."""
    company = helpers.make_company(code="KEEP")
    before = companies()
    requests = [
        ("/admin/company/new/", {"code": "NEW", "name": "新公司"}),
        (f"/admin/company/edit/?id={company.id}", {"code": "CHANGED", "name": "改"}),
        ("/admin/company/delete/", {"id": str(company.id)}),
        ("/admin/company/action/", {"action": "delete", "rowid": str(company.id)}),
        ("/admin/company/ajax/update/", {"list_form_pk": str(company.id), "name": "改"}),
    ]
    for url, data in requests:
        response = admin.post(url, data=_with(data, token))
        assert response.status_code == 400, url
    assert companies() == before
    _db.session.expire_all()
    assert _db.session.get(Company, company.id).code == "KEEP"


def test_token_of_another_session_is_refused(app, admin):
    """A token taken from another session does not validate here."""
    other = helpers.fresh_client(app)
    foreign = helpers.csrf_token(other, "/login")
    response = admin.post(
        "/admin/company/new/", data={"code": "X", "name": "X", "csrf_token": foreign}
    )
    assert response.status_code == 400
    assert companies() == 0


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_password_change_without_token_is_refused(app, db, token):
    """The account page's password change needs the token."""
    user = helpers.make_user("finance", username="fin")
    client = helpers.fresh_client(app)
    helpers.login(client, "fin")
    data = {
        "form": "password",
        "pw-current": helpers.PASSWORD,
        "pw-new": "n3w-pass-word",
        "pw-confirm": "n3w-pass-word",
    }
    response = client.post("/account", data=_with(data, token))
    assert response.status_code == 400
    _db.session.expire_all()
    assert _db.session.get(User, user.id).password_hash == user.password_hash


def test_valid_token_is_accepted(admin):
    """Control: the same create with a real token succeeds."""
    token = helpers.csrf_token(admin, "/admin/company/new/")
    response = admin.post(
        "/admin/company/new/", data={"code": "NEW", "name": "新公司", "csrf_token": token}
    )
    assert response.status_code == 302
    assert companies() == 1
