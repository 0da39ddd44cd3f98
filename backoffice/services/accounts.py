"""Passwords, login throttling and safe redirects."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import unquote, urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.base import utcnow
from backoffice.models.user import LoginThrottle, Role, RoleName, User

_hasher = PasswordHasher()
# Spent on unknown usernames too, so timing does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not-a-password")
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User | None, password: str) -> bool:
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        ok = _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        ok = False
    return ok and user is not None and bool(user.password_hash)


def password_problem(password: str) -> str | None:
    """Why a new password is unacceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return gettext("at least %(n)d characters", n=MIN_PASSWORD_LENGTH)
    if password.isdigit() or password.isalpha():
        return gettext("mix letters with digits or symbols")
    return None


# ---------------------------------------------------------------------------------------------
# Throttling: repeated failures lock the account and, separately, the client address.


@dataclass
class LockState:
    locked: bool
    minutes_left: int = 0


def _throttle_row(session: Session, key: str) -> LoginThrottle:
    row = session.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(key=key, failures=0)
        session.add(row)
    return row


def lock_state(session: Session, *keys: str) -> LockState:
    now = utcnow()
    for key in keys:
        row = session.get(LoginThrottle, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            minutes = int((row.locked_until - now).total_seconds() // 60) + 1
            return LockState(True, minutes)
    return LockState(False)


def register_failure(session: Session, key: str, limit: int) -> bool:
    """Count a failure; returns True when this failure locks the key."""
    now = utcnow()
    window = timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
    row = _throttle_row(session, key)
    if row.first_failure_at is None or now - row.first_failure_at > window:
        row.failures, row.first_failure_at = 0, now
    row.failures += 1
    if row.failures >= limit:
        row.locked_until = now + window
        row.failures, row.first_failure_at = 0, None
        return True
    return False


def clear_failures(session: Session, key: str) -> None:
    row = session.get(LoginThrottle, key)
    if row is not None:
        session.delete(row)


# ---------------------------------------------------------------------------------------------
# Redirects

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def safe_next(target: str | None, default: str) -> str:
    """Return ``target`` only if it is a path on this site; otherwise ``default``.

    Refuses ``//host``, ``/\\host``, schemes (``javascript:``, ``https:``), control characters
    and whitespace tricks, also when percent-encoded (once or twice).
    """
    if not target:
        return default
    candidates = [target]
    for _ in range(2):
        candidates.append(unquote(candidates[-1]))
    for value in candidates:
        if any(unicodedata.category(ch).startswith(("C", "Z")) for ch in value):
            return default
        if "\\" in value or not value.startswith("/") or value.startswith("//"):
            return default
        if _SCHEME.match(value):
            return default
        parts = urlsplit(value)
        if parts.scheme or parts.netloc:
            return default
    return target


# ---------------------------------------------------------------------------------------------
# Users


def ensure_roles(session: Session) -> dict[RoleName, Role]:
    existing = {r.name: r for r in session.scalars(select(Role))}
    for name in RoleName:
        if name not in existing:
            existing[name] = Role(name=name)
            session.add(existing[name])
    return existing
