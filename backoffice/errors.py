"""Error pages: every refusal a person can meet (400, CSRF, 403, 404, 405, 409, 413, 429, 500)
answers with a page in the user's language, inside the product's layout for signed-in users.

A server error's traceback goes to the log only; the page says what happened and what to do.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from backoffice.services.formatting import local_datetime

# status → (title, what the person can do about it)
MESSAGES: dict[int, tuple[Any, Any]] = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    403: (_l("Not allowed"), _l("Your role does not allow this.")),
    404: (
        _l("Not found"),
        _l("This page or record does not exist, or it is outside what your role may see."),
    ),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    409: (
        _l("Conflict"),
        _l("Someone changed this record at the same time. Reload the page and check it."),
    ),
    413: (
        _l("File too large"),
        _l("The upload is larger than the system accepts. Split it or make it smaller."),
    ),
    429: (_l("Too many requests"), _l("Wait a moment, then try again.")),
    500: (
        _l("Server error"),
        _l(
            "Something went wrong on our side and nothing was saved. Try again later; if it "
            "happens again, tell the administrator the time shown below."
        ),
    ),
}
CSRF_MESSAGE = _l(
    "The form has expired or was not sent from this system. Reload the page and submit it again."
)


def render_error(status: int, message: Any = None) -> tuple[str, int]:
    """The error page for ``status``: inside the admin layout (with the user's menu) for a
    signed-in user, on the plain sign-in layout otherwise."""
    title, default = MESSAGES.get(status, MESSAGES[500 if status >= 500 else 400])
    context = {
        "status": status,
        "title": title,
        "message": message or default,
        "now_local": local_datetime(datetime.now(UTC)),
    }
    admin = current_app.extensions.get("admin")
    if current_user.is_authenticated and admin and request.blueprint != "auth":
        # Flask-Admin's own render gives the page the menu, theme and helpers of the layout.
        return admin[0].index_view.render("errors/error.html", **context), status
    return render_template("errors/error.html", **context), status


def _http_error(exc: HTTPException) -> Any:
    if exc.code is None or exc.code < 400:
        return exc
    return render_error(exc.code)


def _csrf_error(exc: CSRFError) -> Any:
    return render_error(400, CSRF_MESSAGE)


def _server_error(exc: InternalServerError) -> Any:
    # The original exception has already been logged with its traceback by Flask.
    return render_error(500)


def init_error_pages(app: Flask) -> None:
    """Register the pages on ``app`` (CSRF first: it is a 400 with a message of its own)."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(HTTPException, _http_error)
