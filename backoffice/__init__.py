"""Qingqian (清欠): the application factory."""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, g, has_request_context, render_template, request
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

from backoffice.config import BASE_DIR, Config, config_from_env
from backoffice.extensions import babel, csrf, db, login_manager, migrate


def create_app(config: type[Config] | Mapping[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
    )
    if config is None:
        config = config_from_env()
    if isinstance(config, Mapping):
        app.config.from_object(config_from_env())
        app.config.update(config)
    else:
        app.config.from_object(config)
    _ensure_secret_key(app)
    from backoffice.services.audit_key import ensure_key

    ensure_key(app)  # the audit trail's HMAC key ring, kept outside the database (issue 10)

    # Session-level listeners: the audit trail, the archive seal guard, the ledger version.
    import backoffice.services.audit  # noqa: F401
    import backoffice.services.ledger_cache  # noqa: F401

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=_select_locale,
        default_translation_directories=str(BASE_DIR / "translations"),
    )
    _init_login(app)

    from backoffice.views.auth import bp as auth_bp

    app.register_blueprint(auth_bp)

    from backoffice.views import init_admin

    init_admin(app)
    from backoffice.api import init_api

    init_api(app)  # the ERP integration API, health endpoints, token screen (issue 14)
    from backoffice.views.balance_confirm_public import bp as balance_confirm_public_bp

    # Issue 15: the debtor's balance confirmation page (no account; one-time link).
    app.register_blueprint(balance_confirm_public_bp)

    from backoffice.cli import register_commands

    register_commands(app)
    _init_templates(app)
    _init_security_headers(app)

    @app.route("/")
    def root():
        from flask import redirect, url_for

        return redirect(url_for("admin.index"))

    from backoffice.errors import init_error_pages

    init_error_pages(app)

    return app


@event.listens_for(Pool, "connect")
def _remember_pid(dbapi_connection, connection_record) -> None:
    connection_record.info["pid"] = os.getpid()


@event.listens_for(Pool, "checkout")
def _pool_owned_by_pid(dbapi_connection, connection_record, connection_proxy) -> None:
    """A forked RQ work horse must never use a connection its worker opened (SQLAlchemy's
    multiprocessing recipe): such a connection is dropped and the pool opens a new one."""
    if connection_record.info.get("pid", os.getpid()) != os.getpid():
        connection_record.dbapi_connection = connection_proxy.dbapi_connection = None
        raise DisconnectionError("connection opened by another process; reconnecting")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """The embedded default shares one SQLite file between gunicorn, the RQ worker and the
    scheduler: WAL lets readers and a writer work at once, and writers wait instead of
    failing with "database is locked"."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def _ensure_secret_key(app: Flask) -> None:
    """Production must set SECRET_KEY; the embedded default keeps one in var/."""
    if app.config.get("SECRET_KEY"):
        return
    if app.config.get("SESSION_COOKIE_SECURE"):
        raise RuntimeError("SECRET_KEY must be set in production")
    var = Path(app.config["VAR_DIR"])
    var.mkdir(parents=True, exist_ok=True)
    key_file = var / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    app.config["SECRET_KEY"] = key_file.read_text().strip()


def _select_locale() -> str | None:
    if not has_request_context():
        return None  # CLI commands and jobs: BABEL_DEFAULT_LOCALE (reading cookies would raise)
    if getattr(current_user, "is_authenticated", False) and current_user.locale:
        return current_user.locale
    return request.cookies.get("qq_locale") or "zh_Hans_CN"


def _init_login(app: Flask) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from backoffice.models.user import User
    from backoffice.services import ledger_cache

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    login_manager.login_message = None

    @login_manager.user_loader
    def load_user(token: str) -> User | None:
        """The session's user, read afresh on every request (a deactivation, a removed role or
        a new unit takes effect on the next request) in ONE statement: the user, their roles
        and units, and the ledger version the request's cached figures and settings key on."""
        try:
            user_id, version = (int(part) for part in token.split(":", 1))
        except ValueError:
            return None
        stmt = (
            select(User, ledger_cache.version_column())
            .where(User.id == user_id)
            .options(joinedload(User.roles), joinedload(User.sales_units))
            # Never an identity-map copy: roles and units are those in the database now.
            .execution_options(populate_existing=True)
        )
        row = db.session.execute(stmt).unique().first()
        if row is None:
            return None
        user, ledger_version = row
        if not user.is_active or user.session_version != version:
            return None
        ledger_cache.remember_version(ledger_version)
        return user


def _init_templates(app: Flask) -> None:
    from backoffice.services.formatting import (
        format_amount,
        format_money,
        format_percent,
        local_datetime,
    )

    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["percent"] = format_percent
    app.jinja_env.filters["amount"] = format_amount
    app.jinja_env.filters["localtime"] = local_datetime

    @app.context_processor
    def inject() -> dict[str, Any]:
        return {"current_locale": str(get_locale()), "languages": app.config["LANGUAGES"]}


def _init_security_headers(app: Flask) -> None:
    @app.after_request
    def headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if getattr(g, "no_store", False) or request.path.startswith("/admin"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
