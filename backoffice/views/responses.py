"""Answers every view gives the same way: a refusal (login page or audited 403), a download that
never renders in the browser, and the app-wide answer to a change of a sealed record."""

from __future__ import annotations

import io
from typing import Any

from flask import abort, flash, redirect, request, send_file, url_for
from flask_login import current_user

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.services import audit
from backoffice.services.audit import SealedError
from backoffice.views.doors import safe_target


def deny(resource: str, action: str) -> Any:
    """Answer a refused request: login page for strangers, 403 (audited) for users."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    audit.record_now(AuditAction.DENIED, entity=resource, detail=f"{action} {request.path}")
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
