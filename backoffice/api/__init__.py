"""The ERP integration API (issue 14): JSON under /api/v1, integration tokens, health checks.

``init_api(app)`` is the one hook the application factory calls: it registers the blueprint
(exempt from CSRF: no cookie authenticates it), its problem+json error handlers, the health
endpoints and the token screen.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from backoffice.api.problems import ApiProblem, from_exception, problem_response, slug_for_status


def _http_problem(exc: HTTPException) -> Any:
    code = exc.code or 500
    headers = {}
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    return problem_response(slug_for_status(code), headers=headers)


def _server_problem(exc: Exception) -> Any:
    current_app.logger.exception("API request failed: %s %s", request.method, request.path)
    return problem_response("server-error")


def _routing_error(fallback):
    """404/405 outside any route: problem+json under /api/, the product's page elsewhere."""

    def handle(exc: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            return _http_problem(exc)
        return fallback(exc)

    return handle


def init_api(app: Flask) -> None:
    from backoffice.api import documents, openapi, pull, push  # noqa: F401 - they add routes
    from backoffice.api.admin_view import ApiTokenView
    from backoffice.api.blueprint import bp
    from backoffice.api.health import bp as health_bp
    from backoffice.errors import _http_error
    from backoffice.extensions import csrf
    from backoffice.views import SYSTEM

    csrf.exempt(bp)  # a bearer token, never a cookie, authenticates these requests
    bp.register_error_handler(ApiProblem, from_exception)
    bp.register_error_handler(HTTPException, _http_problem)
    bp.register_error_handler(Exception, _server_problem)
    app.register_blueprint(bp)
    app.register_blueprint(health_bp)
    app.register_error_handler(NotFound, _routing_error(_http_error))
    app.register_error_handler(MethodNotAllowed, _routing_error(_http_error))
    app.extensions["admin"][0].add_view(
        ApiTokenView(
            name=_l("Integration tokens"), category=SYSTEM, endpoint="api_tokens", url="api-tokens"
        )
    )
