"""Every call under /api/v1 passes here: size limit, token, rate limit, scope, audit.

- Only an ``Authorization: Bearer`` token authenticates. The session cookie is never read:
  the request's user is set to anonymous before anything could load it from the session.
- Every call is audited with the token's name (``api:<name>``), and every change it makes is
  attributed to that name too (``audit.acting_as``).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, g, request
from flask_login import AnonymousUserMixin

from backoffice.api import ratelimit
from backoffice.api.problems import ApiProblem
from backoffice.api.tokens import authenticate, require_scope
from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.services import audit

OPEN_ENDPOINTS = {"api.openapi_json", "api.docs"}


def actor_name(token_name: str) -> str:
    return f"api:{token_name}"[:100]


def before() -> None:
    """Blueprint ``before_request``: refuse early, or set ``g.api_token`` and the audit actor."""
    g._login_user = AnonymousUserMixin()  # never a user from the session cookie
    g.no_store = True
    limit = int(current_app.config["API_MAX_BYTES"])
    request.max_content_length = limit  # also stops a chunked body without Content-Length
    if request.content_length is not None and request.content_length > limit:
        raise ApiProblem("payload-too-large", max_bytes=limit)
    if request.endpoint in OPEN_ENDPOINTS:
        return
    token = authenticate(db.session, request.headers.get("Authorization"))
    # Read the fields the after-request audit needs now: the view may end the session.
    g.api_token = token
    g.api_token_id, g.api_token_name, g.api_company_id = token.id, token.name, token.company_id
    g.api_rate_headers = ratelimit.check(token.id)
    stack = contextlib.ExitStack()
    stack.enter_context(audit.acting_as(audit.Actor(None, actor_name(token.name), _ip())))
    g.api_actor_stack = stack


def after(response: Response) -> Response:
    """Blueprint ``after_request``: rate-limit headers, no caching, one audit entry per call."""
    for name, value in (g.get("api_rate_headers") or {}).items():
        response.headers.setdefault(name, value)
    response.headers["Cache-Control"] = "no-store"
    if request.endpoint in OPEN_ENDPOINTS and response.status_code < 400:
        return response
    name = g.get("api_token_name")
    detail = f"{request.method} {request.path} → {response.status_code}"
    key = request.headers.get("Idempotency-Key")
    if key:
        detail += f" (Idempotency-Key {key[:100]})"
    try:
        audit.record_now(
            AuditAction.API_CALL if name else AuditAction.DENIED,
            entity="api_token" if name else "api",
            entity_id=g.get("api_token_id"),
            detail=detail,
            actor=audit.Actor(None, actor_name(name) if name else "anonymous", _ip()),
        )
    except Exception:  # noqa: BLE001 - the answer stands; the failure is logged loudly
        current_app.logger.exception("API call not audited: %s", detail)
    return response


def teardown(exc: BaseException | None) -> None:
    stack = g.pop("api_actor_stack", None)
    if stack is not None:
        stack.close()


def _ip() -> str | None:
    return request.remote_addr


def scoped(scope: str) -> Callable:
    """Route decorator: the call needs ``scope`` on its token (else 403 problem)."""

    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            require_scope(g.api_token, scope)
            return view(*args, **kwargs)

        inner.api_scope = scope  # type: ignore[attr-defined] - read by the OpenAPI test
        return inner

    return wrap


def company_id() -> int:
    """The one company the calling token may see or change."""
    return int(g.api_company_id)
