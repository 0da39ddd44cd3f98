"""Push: the ERP posts receivables and payments in batches (issue 14, SPEC §3.1).

``POST /api/v1/receivables`` and ``POST /api/v1/payments`` take ``{"items": [...]}``, at most
``API_MAX_ITEMS`` items, and import them as one batch through the file importer (the adapter):
all items or none. ``?dry_run=true`` checks without changing anything.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request

from backoffice.api import idempotency
from backoffice.api.blueprint import bp, json_body, json_response
from backoffice.api.guard import scoped
from backoffice.api.import_adapter import push
from backoffice.api.problems import MEDIA_TYPE, ApiProblem, problem_body
from backoffice.extensions import db
from backoffice.models.org import Company
from backoffice.models.receivable import ImportKind


@bp.post("/receivables")
@scoped("receivables:write")
def push_receivables():
    """Import a batch of receivables for the token's company."""
    return _push(ImportKind.RECEIVABLES)


@bp.post("/payments")
@scoped("payments:write")
def push_payments():
    """Import a batch of payments for the token's company."""
    return _push(ImportKind.PAYMENTS)


def _dry_run() -> bool:
    value = (request.args.get("dry_run") or "").lower()
    if value not in ("", "true", "false", "1", "0"):
        raise ApiProblem("bad-request", "dry_run: true or false")
    return value in ("true", "1")


def _items() -> list[Any]:
    body = json_body()
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise ApiProblem("bad-request", "items: a non-empty list")
    limit = int(current_app.config["API_MAX_ITEMS"])
    if len(items) > limit:
        raise ApiProblem("too-many-items", max_items=limit, items=len(items))
    return items


def _push(kind: ImportKind):
    dry_run = _dry_run()
    items = _items()
    token_id = g.api_token_id
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        idempotency.check_key(key)
        req_hash = idempotency.request_hash(
            request.method, request.full_path, request.get_data(cache=True)
        )
        stored = idempotency.claim(db.session, token_id, key, req_hash)
        if stored is not None:
            return _replay(*stored)
    try:
        status, body = _run(kind, items, dry_run)
    except Exception:
        if key is not None:
            idempotency.release(db.session, token_id, key)
        raise
    if key is not None:
        idempotency.store(db.session, token_id, key, status, body)
    if status >= 400:
        return _problem(status, body)
    return json_response({**body, "idempotent_replay": False}, status)


def _run(kind: ImportKind, items: list[Any], dry_run: bool) -> tuple[int, dict]:
    company = db.session.get(Company, g.api_company_id)
    result = push(
        db.session,
        kind,
        items,
        company_code=company.code,
        source=f"api-{g.api_token_name}-{kind.value}",
        dry_run=dry_run,
    )
    summary = {
        "batch_id": result.batch_id,
        "outcome": result.status,
        "items": len(items),
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "warnings": result.warnings,
        "new_customers": result.new_customers,
    }
    if not result.ok:
        return 422, problem_body("invalid-items", errors=result.errors, **summary)
    return 200, summary


def _problem(status: int, body: dict):
    response = json_response(body, status)
    response.mimetype = MEDIA_TYPE
    return response


def _replay(status: int, body: dict):
    """The stored answer again, saying it is a replay (header and body)."""
    body = {**body, "idempotent_replay": True}
    response = _problem(status, body) if status >= 400 else json_response(body, status)
    response.headers["Idempotent-Replayed"] = "true"
    return response
