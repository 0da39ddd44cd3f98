"""Login, logout, throttling, redirects, cookies and password change (issue 2, item 3)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backoffice import create_app
from backoffice.config import ProductionConfig
from backoffice.extensions import db as _db
from backoffice.models import AuditLog, User
from tests import helpers


@pytest.fixture()
def web(app, db):
    """A client whose requests each run in their own app context, as in production."""
    return helpers.fresh_client(app)


def post_login(client, username, password=helpers.PASSWORD, next_=None, remember=False, **kw):
    token = helpers.csrf_token(client, "/login")
    data = {"username": username, "password": password, "csrf_token": token}
    if remember:
        data["remember"] = "y"
    url = "/login" if next_ is None else "/login?" + _query(next_)
    return client.post(url, data=data, **kw)


def _query(next_: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"next": next_})


def actions() -> list[str]:
    _db.session.expire_all()
    return [a for a in _db.session.scalars(select(AuditLog.action).order_by(AuditLog.seq))]


OFFSITE = [
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "https://evil.example",
    "http://evil.example/admin/",
    " //evil.example",
    "//evil.example ",
    " https://evil.example",
    "\t//evil.example",
    "/\t/evil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "%252F%252Fevil.example",
    "/%255Cevil.example",
    "///evil.example",
    "https:evil.example",
    "/%09/evil.example",
    "data:text/html,hi",
]


@pytest.mark.parametrize("target", OFFSITE)
def test_offsite_next_is_ignored(web, target):
    """After a successful login an off-site ``next`` falls back to the dashboard."""
    helpers.make_user("finance", username="fin")
    response = post_login(web, "fin", next_=target)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/admin/", (target, location)


def test_safe_next_is_followed(web):
    """A path on this site is where the login sends the user."""
    helpers.make_user("finance", username="fin")
    response = post_login(web, "fin", next_="/admin/receivable/")
    assert response.headers["Location"] == "/admin/receivable/"


def test_five_failures_lock_the_account_and_are_audited(web):
    """Five wrong passwords lock the account: 429, a clear message, a 'lockout' entry."""
    helpers.make_user("finance", username="fin")
    for _ in range(4):
        assert post_login(web, "fin", "wrong-password").status_code == 401
    response = post_login(web, "fin", "wrong-password")
    assert response.status_code == 429
    assert "15" in response.get_data(as_text=True)  # "try again in 15 minutes"
    assert actions().count("login_failed") == 5
    assert "lockout" in actions()
    locked = post_login(web, "fin")  # the right password, while locked
    assert locked.status_code == 429
    assert web.get("/admin/receivable/").status_code == 302  # still not logged in


def test_address_lock_after_twenty_failures_across_usernames(web):
    """Twenty failures from one address lock the address, even for another account."""
    helpers.make_user("finance", username="fin")
    for i in range(19):
        assert post_login(web, f"nobody{i}", "wrong-password").status_code == 401
    assert post_login(web, "nobody-last", "wrong-password").status_code == 429
    assert post_login(web, "fin").status_code == 429
    other = helpers.fresh_client(web.application)
    response = post_login(other, "fin", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert response.status_code == 302  # another address is not locked


def test_logout_is_post_only_and_kills_session_and_remember_cookie(web, app):
    """Logout needs POST; afterwards neither the old session nor the remember cookie works."""
    helpers.make_user("finance", username="fin")
    post_login(web, "fin", remember=True)
    assert web.get("/admin/receivable/").status_code == 200
    session_cookie = web.get_cookie("session").value
    remember_cookie = web.get_cookie("remember_token").value
    assert web.get("/logout").status_code == 405
    token = helpers.csrf_token(web, "/account")
    assert web.post("/logout", data={"csrf_token": token}).status_code == 302
    assert web.get("/admin/receivable/").status_code == 302
    replay = helpers.fresh_client(app)
    replay.set_cookie("session", session_cookie)
    assert replay.get("/admin/receivable/").status_code == 302
    replay = helpers.fresh_client(app)
    replay.set_cookie("remember_token", remember_cookie)
    assert replay.get("/admin/receivable/").status_code == 302
    assert "logout" in actions()


def test_cookies_are_httponly_and_samesite(web):
    """Session and remember cookies are HttpOnly and SameSite (not Secure in development)."""
    helpers.make_user("finance", username="fin")
    response = post_login(web, "fin", remember=True)
    cookies = response.headers.getlist("Set-Cookie")
    for name in ("session=", "remember_token="):
        cookie = next(c for c in cookies if c.startswith(name))
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie


def test_cookies_are_secure_in_production(app):
    """Under ProductionConfig the cookies carry the Secure flag."""

    class Prod(ProductionConfig):
        SECRET_KEY = "prod-test-key"  # noqa: S105
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        VAR_DIR = app.config["VAR_DIR"]

    prod = create_app(Prod)
    with prod.app_context():
        helpers.make_user("finance", username="fin")
    try:
        client = helpers.fresh_client(prod)
        https = {"base_url": "https://localhost"}
        html = client.get("/login", **https).get_data(as_text=True)
        token = helpers.CSRF_RE.search(html)
        response = client.post(
            "/login",
            data={
                "username": "fin",
                "password": helpers.PASSWORD,
                "remember": "y",
                "csrf_token": token.group(1) or token.group(2),
            },
            headers={"Referer": "https://localhost/login"},  # CSRF checks it over https
            **https,
        )
        assert response.status_code == 302
        cookies = response.headers.getlist("Set-Cookie")
        for name in ("session=", "remember_token="):
            cookie = next(c for c in cookies if c.startswith(name))
            assert "Secure" in cookie and "HttpOnly" in cookie
    finally:
        with prod.app_context():
            from tests.conftest import _truncate

            _db.session.remove()
            _truncate()
            # This app has its own engine: close its pooled connections now, or the garbage
            # collector closes them later, in whichever test happens to be running then.
            _db.engine.dispose()


def _change(client, current, new, confirm=None):
    token = helpers.csrf_token(client, "/account")
    return client.post(
        "/account",
        data={
            "form": "password",
            "pw-current": current,
            "pw-new": new,
            "pw-confirm": new if confirm is None else confirm,
            "pw-csrf_token": token,
            "csrf_token": token,
        },
    )


def test_password_change_needs_current_password_and_a_strong_one(web):
    """A wrong current password or a weak new one changes nothing."""
    user = helpers.make_user("finance", username="fin", locale="en")
    post_login(web, "fin")
    old_hash = user.password_hash
    assert "current password is wrong" in _change(web, "bad-current", "n3w-pass-word").get_data(
        as_text=True
    )
    assert "too weak" in _change(web, helpers.PASSWORD, "short1").get_data(as_text=True)
    assert "too weak" in _change(web, helpers.PASSWORD, "onlyletters").get_data(as_text=True)
    _db.session.expire_all()
    assert _db.session.get(User, user.id).password_hash == old_hash


def test_password_change_works_and_ends_other_sessions(web, app):
    """A changed password logs in; the other session is logged out; this one stays in."""
    helpers.make_user("finance", username="fin")
    other = helpers.fresh_client(app)
    post_login(other, "fin")
    post_login(web, "fin")
    response = _change(web, helpers.PASSWORD, "n3w-pass-word")
    assert response.status_code == 302
    assert web.get("/admin/receivable/").status_code == 200
    assert other.get("/admin/receivable/").status_code == 302
    fresh = helpers.fresh_client(app)
    assert post_login(fresh, "fin").status_code == 401
    assert post_login(fresh, "fin", "n3w-pass-word").status_code == 302


def test_inactive_user_cannot_log_in(web):
    """A deactivated account is refused even with the right password."""
    helpers.make_user("finance", username="fin", active=False)
    assert post_login(web, "fin").status_code == 401
    assert web.get("/admin/receivable/").status_code == 302


def test_login_and_failed_login_are_audited(web):
    """A failed and a successful login each write an audit entry."""
    helpers.make_user("finance", username="fin")
    post_login(web, "fin", "wrong-password")
    post_login(web, "fin")
    trail = actions()
    assert trail.index("login_failed") < trail.index("login")
