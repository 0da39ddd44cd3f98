"""The ERP integration API (issue 14): JSON under /api/v1, integration tokens, health checks.

``init_api(app)`` is the one hook the application factory calls: it registers the blueprint
(exempt from CSRF: no cookie authenticates it; its problem+json error handlers are set in
``blueprint``), the health endpoints, and the token screen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound


def _routing_error(fallback: Callable[[HTTPException], Any]) -> Callable[[HTTPException], Any]:
    """404/405 outside any route: problem+json under /api/, the product's page elsewhere."""

    def handle(exc: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            from backoffice.api.blueprint import http_problem

            return http_problem(exc)
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
    app.register_blueprint(bp)
    app.register_blueprint(health_bp)
    app.register_error_handler(NotFound, _routing_error(_http_error))
    app.register_error_handler(MethodNotAllowed, _routing_error(_http_error))
    app.extensions["admin"][0].add_view(
        ApiTokenView(
            name=_l("Integration tokens"), category=SYSTEM, endpoint="api_tokens", url="api-tokens"
        )
    )
