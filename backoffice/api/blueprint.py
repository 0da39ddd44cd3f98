"""The ``api`` blueprint under /api/v1; the route modules add their routes to it."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from backoffice.api import guard
from backoffice.api.problems import (
    ApiProblem,
    from_exception,
    problem_response,
    slug_for_status,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(guard.before)
bp.after_request(guard.after)
bp.teardown_request(guard.teardown)


def http_problem(exc: HTTPException) -> Response:
    """Werkzeug's HTTP errors (413 while reading the body, 404, 405…) as problem+json."""
    headers = {}
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    return problem_response(slug_for_status(exc.code or 500), headers=headers)


def server_problem(exc: Exception) -> Response:
    """Anything unexpected: logged with its traceback, answered as a 500 problem."""
    current_app.logger.exception("API request failed: %s %s", request.method, request.path)
    return problem_response("server-error")


bp.register_error_handler(ApiProblem, from_exception)
bp.register_error_handler(HTTPException, http_problem)
bp.register_error_handler(Exception, server_problem)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")  # money travels as a string: exact, never a float
    raise TypeError(f"{type(value).__name__} is not JSON")


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    text = json.dumps(body, ensure_ascii=False, default=_default)
    response = Response(text, status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def json_body() -> Any:
    """The request's JSON body (numbers with a fraction as ``Decimal``), or a problem."""
    if not request.mimetype or request.mimetype.split(";")[0] != "application/json":
        raise ApiProblem("unsupported-media-type")
    try:
        return json.loads(request.get_data(cache=True), parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiProblem("bad-request", "JSON") from exc
