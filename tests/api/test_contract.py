"""The contract: a valid OpenAPI 3.1 document naming every route, an offline page rendering
it, problem+json for every refusal, the per-token rate limit and the request size limit."""

from __future__ import annotations

import re
from pathlib import Path

from openapi_spec_validator import validate

from backoffice import create_app
from backoffice.api.openapi import routes
from backoffice.api.problems import PROBLEMS
from backoffice.api.scopes import SCOPES

ROOT = Path(__file__).resolve().parents[2]


def test_the_openapi_document_validates(client):
    """/api/v1/openapi.json is OpenAPI 3.1 and passes openapi-spec-validator, without a token."""
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"] == "3.1.0"
    validate(doc)


def test_every_route_is_in_the_document_and_nothing_else(client, app):
    """Each registered /api/v1 route and method is documented; the document names no other."""
    doc = client.get("/api/v1/openapi.json").get_json()
    registered = set(routes())
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert registered == documented
    assert len(registered) >= 13


def test_each_documented_scope_is_the_one_the_route_enforces(client, app):
    """x-scope in the document equals the scope the view function checks."""
    doc = client.get("/api/v1/openapi.json").get_json()
    views = app.view_functions
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:int:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            op = doc["paths"][path][method.lower()]
            enforced = getattr(views[rule.endpoint], "api_scope", None)
            assert op.get("x-scope") == enforced, (path, method)
            assert enforced is None or enforced in SCOPES


def test_the_documentation_page_renders_offline(client):
    """The page and its script load nothing from another host."""
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "清欠 ERP 集成接口" in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") for s in sources), sources
    script = client.get("/static/api/openapi-viewer.js")
    assert script.status_code == 200
    js = script.get_data(as_text=True)
    assert "http://" not in js and "https://" not in js
    assert "innerHTML" not in js  # text only, never markup from the document


def test_problem_types_are_stable_and_titles_chinese(client):
    """Every problem kind has a urn type and a title in Chinese."""
    with client.application.test_request_context():
        from backoffice.api.problems import problem_body

        for slug in PROBLEMS:
            body = problem_body(slug)
            assert body["type"] == f"urn:qingqian:problem:{slug}"
            assert re.search(r"[\u4e00-\u9fff]", body["title"]), body


def test_unknown_api_paths_and_methods_get_problem_json(client, make_token):
    """404 and 405 under /api/ are problem+json; elsewhere the product's error page."""
    _, headers = make_token()
    missing = client.get("/api/v1/nothing-here", headers=headers)
    assert (missing.status_code, missing.mimetype) == (404, "application/problem+json")
    assert missing.get_json(force=True)["title"] == "资源不存在"
    wrong = client.delete("/api/v1/customers", headers=headers)
    assert (wrong.status_code, wrong.mimetype) == (405, "application/problem+json")
    assert "GET" in wrong.headers["Allow"]
    page = client.get("/nothing-here")
    assert (page.status_code, page.mimetype) == (404, "text/html")


def test_a_body_over_the_size_limit_is_413_problem_json(client, make_token, app, monkeypatch):
    """A request body larger than API_MAX_BYTES is refused before it is read."""
    monkeypatch.setitem(app.config, "API_MAX_BYTES", 1000)
    _, headers = make_token()
    body = '{"items": [' + ",".join(['{"doc_no": "X"}'] * 200) + "]}"
    response = client.post(
        "/api/v1/receivables", headers=headers, data=body, content_type="application/json"
    )
    assert (response.status_code, response.mimetype) == (413, "application/problem+json")
    assert response.get_json(force=True)["type"] == "urn:qingqian:problem:payload-too-large"


def test_the_rate_limit_is_per_token_and_shared_by_processes(
    client, make_token, app, redis_conn, monkeypatch
):
    """Counted in Redis: a second app instance shares the count; the next call gets 429."""
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", 3)
    monkeypatch.setitem(app.config, "API_RATE_WINDOW", 3600)
    other_app = create_app(dict(app.config))  # another web process on the same Redis
    other = other_app.test_client()
    _, headers = make_token("customers:read")
    _, spare = make_token("customers:read")
    assert client.get("/api/v1/customers", headers=headers).status_code == 200
    with other_app.app_context():
        assert other.get("/api/v1/customers", headers=headers).status_code == 200
    ok = client.get("/api/v1/customers", headers=headers)
    assert (ok.status_code, ok.headers["RateLimit-Remaining"]) == (200, "0")
    refused = client.get("/api/v1/customers", headers=headers)
    assert (refused.status_code, refused.mimetype) == (429, "application/problem+json")
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    body = refused.get_json(force=True)
    assert (body["type"], body["title"]) == (
        "urn:qingqian:problem:rate-limited",
        "该令牌请求过于频繁",
    )
    assert client.get("/api/v1/customers", headers=spare).status_code == 200  # per token
    with other_app.app_context():
        from backoffice.extensions import db

        db.engine.dispose()  # close the second app's connections now, not at collection


def test_the_readme_documents_the_api(client):
    """README has a requests and a curl example, and names only documented routes."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "import requests" in readme and "curl -sS" in readme
    doc = client.get("/api/v1/openapi.json").get_json()
    documented = {re.sub(r"\{\w+\}", "{}", p) for p in doc["paths"]}
    named = {
        "/api/v1/" + re.sub(r"(\{\w+\}|\d+)", "{}", path[len("/api/v1/") :])
        for path in re.findall(r"/api/v1/[a-z0-9/{}_.]*[a-z0-9}]", readme)
    }
    assert len(named) >= 8
    assert named <= documented, named - documented
