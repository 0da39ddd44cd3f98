"""Integration tokens: scope, expiry, revocation, hashing, auditing; cookies never reach the
API and tokens never reach the browser screens."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select, text

from backoffice.api.problems import MEDIA_TYPE
from backoffice.models import ApiToken, AuditLog
from backoffice.models.base import utcnow
from tests import helpers
from tests.api.conftest import bearer


def _problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == MEDIA_TYPE
    body = response.get_json(force=True)
    assert body["type"] == f"urn:qingqian:problem:{slug}"
    assert body["status"] == status
    return body


def test_a_valid_token_reads_its_company(client, make_token):
    """A token with customers:read lists its company's customers."""
    unit = helpers.make_unit()
    helpers.make_customer(unit, name="上海宏达机械有限公司")
    _, headers = make_token("customers:read", company=unit.company)
    response = client.get("/api/v1/customers", headers=headers)
    assert response.status_code == 200
    assert [c["name"] for c in response.get_json()["items"]] == ["上海宏达机械有限公司"]


def test_no_token_or_a_wrong_one_is_refused_as_problem_json(client, make_token):
    """Missing, malformed and unknown tokens get 401 problem+json with a Chinese title."""
    make_token()
    for headers in ({}, {"Authorization": "Basic abc"}, bearer("qq_" + "x" * 43)):
        response = client.get("/api/v1/customers", headers=headers)
        body = _problem(response, 401, "unauthorized")
        assert body["title"] == "需要有效的接口令牌"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_is_refused(client, make_token, db):
    """After its expiry a token gets 401 token-expired."""
    token, headers = make_token()
    assert client.get("/api/v1/customers", headers=headers).status_code == 200
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    body = _problem(client.get("/api/v1/customers", headers=headers), 401, "token-expired")
    assert body["title"] == "接口令牌已过期"


def test_a_revoked_token_is_refused_at_once(client, make_token, db):
    """Revocation takes effect on the next call (401 token-revoked)."""
    from backoffice.api import tokens

    token, headers = make_token()
    assert client.get("/api/v1/cases", headers=headers).status_code == 200
    assert tokens.revoke(db.session, token, None) is True
    db.session.commit()
    _problem(client.get("/api/v1/cases", headers=headers), 401, "token-revoked")


def test_a_token_may_only_use_its_scopes(client, make_token):
    """A read-only customers token may not push, nor read cases (403 forbidden-scope)."""
    _, headers = make_token("customers:read")
    assert client.get("/api/v1/customers", headers=headers).status_code == 200
    body = _problem(client.get("/api/v1/cases", headers=headers), 403, "forbidden-scope")
    assert body["scope"] == "cases:read"
    push = client.post("/api/v1/receivables", headers=headers, json={"items": [{}]})
    _problem(push, 403, "forbidden-scope")


def test_only_the_hash_is_stored_and_never_audited(client, make_token, db):
    """The secret is nowhere in the database; its hash is in the token row only."""
    token, headers = make_token()
    secret = headers["Authorization"].split()[1]
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    client.get("/api/v1/customers", headers=headers)
    with db.engine.connect() as conn:
        dump = " ".join(
            str(row)
            for table in ("api_token", "audit_log")
            for row in conn.execute(text(f"SELECT * FROM {table}")).all()
        )
        audit_dump = " ".join(str(r) for r in conn.execute(text("SELECT * FROM audit_log")).all())
    assert secret not in dump
    assert token.token_hash not in audit_dump


def test_every_call_is_audited_with_the_tokens_name(client, make_token, db):
    """Each call, allowed or refused, leaves an audit entry naming the token."""
    token, headers = make_token("customers:read", name="金蝶夜间同步")
    client.get("/api/v1/customers", headers=headers)
    client.get("/api/v1/cases", headers=headers)
    rows = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "api_call").order_by(AuditLog.seq)
    ).all()
    assert [(r.actor, r.detail) for r in rows] == [
        ("api:金蝶夜间同步", "GET /api/v1/customers → 200"),
        ("api:金蝶夜间同步", "GET /api/v1/cases → 403"),
    ]


def test_changes_made_through_the_api_are_attributed_to_the_token(client, make_token, db):
    """The audit rows of a pushed receivable name the token as the actor."""
    unit = helpers.make_unit()
    _, headers = make_token("receivables:write", company=unit.company, name="用友推送")
    item = {
        "customer_code": "K1",
        "customer_name": "杭州新客户有限公司",
        "sales_unit": unit.code,
        "doc_no": "INV-1",
        "amount": "100.00",
        "due_date": "2026-12-31",
    }
    assert (
        client.post("/api/v1/receivables", headers=headers, json={"items": [item]}).status_code
        == 200
    )
    actors = set(
        db.session.scalars(
            select(AuditLog.actor).where(
                AuditLog.entity == "receivable", AuditLog.action == "create"
            )
        )
    )
    assert actors == {"api:用友推送"}


def test_a_session_cookie_never_authenticates_the_api(client, login_as):
    """A signed-in administrator's browser gets 401 from the API and no new cookie."""
    login_as("admin")
    assert client.get("/admin/").status_code == 200
    response = client.get("/api/v1/customers")
    _problem(response, 401, "unauthorized")
    assert "Set-Cookie" not in response.headers


def test_a_token_never_opens_the_browser_screens(client, make_token):
    """The admin screens ignore a bearer token: anonymous visitors go to the login page."""
    _, headers = make_token()
    response = client.get("/admin/", headers=headers)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_api_needs_no_csrf_token_but_the_token_screen_does(client, make_token, login_as):
    """POSTs to /api/v1 need no CSRF token; the token screen's forms do (400 without)."""
    _, headers = make_token("receivables:write")
    response = client.post("/api/v1/receivables", headers=headers, json={"items": [{}]})
    assert response.status_code == 422  # checked, not refused for CSRF
    login_as("admin")
    assert client.post("/admin/api-tokens/new", data={"name": "x"}).status_code == 400
    assert db_count() == 1


def db_count() -> int:
    from backoffice.extensions import db

    return db.session.scalar(select(db.func.count()).select_from(ApiToken))
