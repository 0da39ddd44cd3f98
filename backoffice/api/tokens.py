"""Integration tokens: created by an administrator, shown once, stored hashed, revocable.

A token is ``qq_`` followed by 43 URL-safe characters (256 random bits). Only its SHA-256 is
stored: the secret has too much entropy to guess, so a slow password hash adds nothing, and a
lookup by hash stays one index probe per call. The final comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.api.problems import ApiProblem
from backoffice.api.scopes import valid_scopes
from backoffice.models.api import ApiToken
from backoffice.models.base import SHANGHAI, LabeledEnum, utcnow
from backoffice.models.org import Company

SECRET_PREFIX = "qq_"  # noqa: S105 - a marker, not a secret


class TokenState(LabeledEnum):
    ACTIVE = "active", _l("Active")
    EXPIRED = "expired", _l("Expired")
    REVOKED = "revoked", _l("Revoked")


class TokenError(ValueError):
    """A token cannot be created or revoked as asked; the message is for the administrator."""


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def state(token: ApiToken, now: datetime | None = None) -> TokenState:
    now = now or utcnow()
    if token.revoked_at is not None:
        return TokenState.REVOKED
    if token.expires_at is not None and token.expires_at <= now:
        return TokenState.EXPIRED
    return TokenState.ACTIVE


def expiry_of(last_day: date | None) -> datetime | None:
    """A token valid through ``last_day`` (Asia/Shanghai) expires at the next midnight there."""
    if last_day is None:
        return None
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def last_valid_day(token: ApiToken) -> date | None:
    """The last day (Asia/Shanghai) on which the token works; None: no expiry."""
    if token.expires_at is None:
        return None
    return (token.expires_at.astimezone(SHANGHAI) - timedelta(microseconds=1)).date()


def create_token(
    session: Session,
    *,
    name: str,
    company_id: int,
    scopes: list[str],
    expires_at: datetime | None = None,
    user_id: int | None = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is never stored and never shown
    again. Side effect: one ``api_token`` row (audited, without the hash); the caller commits."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise TokenError(_l("Give the integration a name of at most 100 characters."))
    if session.scalar(select(func.count()).where(ApiToken.name == name)):
        raise TokenError(_l("A token with this name exists already."))
    if session.get(Company, company_id) is None:
        raise TokenError(_l("Choose the company the token works for."))
    chosen = valid_scopes(scopes)
    if not chosen:
        raise TokenError(_l("Choose at least one permission."))
    if expires_at is not None and expires_at <= utcnow():
        raise TokenError(_l("The expiry date must be in the future."))
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        company_id=company_id,
        scopes=chosen,
        token_hash=hash_secret(secret),
        prefix=secret[:10],
        expires_at=expires_at,
        created_by_id=user_id,
    )
    session.add(token)
    session.flush()
    return token, secret


def revoke(session: Session, token: ApiToken, user_id: int | None) -> bool:
    """Revoke ``token`` for good (idempotent: a revoked token stays as it was). The caller
    commits. Returns whether this call revoked it."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    token.revoked_by_id = user_id
    return True


def bearer_secret(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate(session: Session, header: str | None) -> ApiToken:
    """The active token named by an ``Authorization: Bearer`` header, or an ``ApiProblem``."""
    secret = bearer_secret(header)
    if secret is None or not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        raise ApiProblem("unauthorized")
    digest = hash_secret(secret)
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        raise ApiProblem("unauthorized")
    current = state(token)
    if current is TokenState.REVOKED:
        raise ApiProblem("token-revoked")
    if current is TokenState.EXPIRED:
        raise ApiProblem("token-expired")
    return token


def require_scope(token: ApiToken, scope: str) -> None:
    if scope not in (token.scopes or []):
        raise ApiProblem("forbidden-scope", scope=scope)
