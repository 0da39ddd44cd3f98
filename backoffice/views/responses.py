"""Answers every view gives the same way: a refusal (login page or audited 403), a download that
never renders in the browser, and the app-wide answer to a change of a sealed record."""

from __future__ import annotations

import io
from typing import Any

from flask import abort, flash, redirect, request, send_file, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.services import audit
from backoffice.services.audit import SealedError
from backoffice.views.doors import safe_target

# What a refused user tried to do, as the audit log says it (issue 11: no "view /admin/…").
ACTION_WORDS: dict[str, Any] = {
    "view": _l("to view"),
    "create": _l("to create"),
    "edit": _l("to edit"),
    "delete": _l("to delete"),
    "export": _l("to export"),
    "download": _l("to download"),
    "approve": _l("to approve"),
    "import": _l("to import"),
    "run": _l("to run"),
    "verify": _l("to verify"),
    "answer": _l("to answer"),
    "route": _l("to route"),
    "apply": _l("to apply"),
    "close": _l("to close"),
    "file": _l("to file"),
    "opinion": _l("to give an opinion"),
    "credit": _l("to review credit"),
    "confirm": _l("to confirm"),
    "lift": _l("to lift"),
    "send": _l("to send"),
}


def denied_detail(action: str, path: str) -> str:
    """The audit detail of a refusal: what was tried (an action, then what it was about, as in
    "run 年终归档"), where, in the system's language."""
    verb, _sep, what = str(action).partition(" ")
    with audit.in_system_language():
        word = ACTION_WORDS.get(verb)
        text = str(
            _l("No permission %(action)s: %(path)s", action=word, path=path)
            if word is not None
            else _l("No permission: %(path)s", path=path)
        )
    return f"{text}（{what}）" if what else text


def deny(resource: str, action: str) -> Any:
    """Answer a refused request: login page for strangers, 403 (audited) for users."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    audit.record_now(
        AuditAction.DENIED, entity=resource, detail=denied_detail(action, request.path)
    )
    abort(403)


def attachment(data: Any, name: str, mimetype: str) -> Any:
    """``data`` (bytes or a binary file) as a download that never renders in the browser:
    always an attachment, the name kept through RFC 5987 ``filename*`` (Chinese names),
    ``nosniff``, a sandboxing CSP, and never cached."""
    response = send_file(
        io.BytesIO(data) if isinstance(data, bytes | bytearray) else data,
        mimetype=mimetype,
        as_attachment=True,  # never inline, whatever the type
        download_name=name,
        conditional=False,
        etag=False,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cache-Control"] = "no-store"
    return response


def sealed_refused(exc: SealedError) -> Any:
    """App-wide answer to a change of a sealed record (Art.22) that no view caught.

    ``SecuredModelView.handle_view_exception`` covers Flask-Admin's forms, ajax edits, deletes
    and bulk actions; custom pages (evidence upload and delete) let ``SealedError`` escape as a
    500. Registered with ``register_error_handler`` so every path is refused the same way: the
    transaction is rolled back, a ``refused`` entry is audited and the user gets a message.
    """
    db.session.rollback()
    audit.record_now(AuditAction.REFUSED, entity=request.endpoint, detail=str(exc))
    flash(str(exc), "error")
    return redirect(safe_target(request.referrer, url_for("admin.index")), code=303)
