"""One-time links to the debtor's confirmation page (issue 15): issued, revoked, found.

The token is shown once (in the mail or letter) and only its SHA-256 is stored; one link of a
request works at a time.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.orm import Session

from backoffice.models.balance_confirmation import (
    BalanceConfirmationLink,
    BalanceConfirmationRequest,
)
from backoffice.models.base import utcnow
from backoffice.permissions import Action, can

RESOURCE = "balance_confirmation_request"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_link(
    session: Session, req: BalanceConfirmationRequest, *, now: datetime | None = None
) -> str:
    """A new one-time link for ``req``; returns the token (shown once, never stored).

    Any earlier link of the request still live is revoked, so one link works at a time.
    """
    now = now or utcnow()
    session.execute(
        update(BalanceConfirmationLink)
        .where(
            BalanceConfirmationLink.request_id == req.id,
            BalanceConfirmationLink.revoked_at.is_(None),
            BalanceConfirmationLink.used_at.is_(None),
        )
        .values(revoked_at=now)
    )
    token = secrets.token_urlsafe(32)
    days = int(current_app.config.get("BALANCE_CONFIRM_LINK_DAYS", 30))
    session.add(
        BalanceConfirmationLink(
            request_id=req.id,
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    session.flush()
    return token


def revoke_link(session: Session, link: BalanceConfirmationLink, user: Any) -> bool:
    """Revoke ``link`` (needs ``edit`` on requests). False when it was already revoked."""
    if not can(user, RESOURCE, Action.EDIT):
        raise PermissionError(_("You may not revoke confirmation links."))
    if link.revoked_at is not None:
        return False
    link.revoked_at = utcnow()
    link.revoked_by_id = user.id
    session.flush()
    return True


def live_link(req: BalanceConfirmationRequest) -> BalanceConfirmationLink | None:
    now = utcnow()
    for link in reversed(req.links):
        if link.revoked_at is None and link.used_at is None and link.expires_at > now:
            return link
    return None


def link_url(token: str) -> str:
    """The debtor page's absolute address for ``token``: under ``PUBLIC_BASE_URL`` when set
    (jobs have no request to take the host from), else the current request's host."""
    path = f"/c/{token}"
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base and has_request_context():
        base = request.host_url
    return (base or "http://127.0.0.1:5000").rstrip("/") + path
