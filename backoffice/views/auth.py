"""Login, logout and the user's own settings (password, language)."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.base import utcnow
from backoffice.models.user import User
from backoffice.services import accounts, audit

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    remember = BooleanField(_l("Remember me"))


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(
        _l("Repeat new password"), validators=[EqualTo("new", message=_l("Passwords differ"))]
    )


class LanguageForm(FlaskForm):
    locale = SelectField(_l("Language"))


def _home() -> str:
    return url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(accounts.safe_next(request.args.get("next"), _home()))
    form = LoginForm()
    if form.validate_on_submit():
        cfg = current_app.config
        name = form.username.data.strip()
        ip = request.remote_addr or "unknown"
        user_key, ip_key = f"user:{name.lower()}", f"ip:{ip}"
        state = accounts.lock_state(db.session, user_key, ip_key)
        if state.locked:
            audit.record(
                db.session, AuditAction.LOGIN_FAILED, entity="user", detail=f"locked: {name}"
            )
            db.session.commit()
            flash(
                _("Too many failed attempts. Try again in %(n)d minutes.", n=state.minutes_left),
                "error",
            )
            return render_template("auth/login.html", form=form), 429
        user = db.session.scalar(select(User).where(func.lower(User.username) == name.lower()))
        if accounts.check_password(user, form.password.data) and user.is_active:
            accounts.clear_failures(db.session, user_key)
            user.last_login_at = utcnow()
            session.clear()  # a fresh session on login: no fixation
            login_user(user, remember=form.remember.data)
            audit.record(
                db.session,
                AuditAction.LOGIN,
                entity="user",
                entity_id=user.id,
                actor=audit.Actor(user.id, user.username, ip),
            )
            db.session.commit()
            return redirect(accounts.safe_next(request.args.get("next"), _home()))
        locked_user = accounts.register_failure(
            db.session, user_key, cfg["LOGIN_MAX_FAILURES_ACCOUNT"]
        )
        locked_ip = accounts.register_failure(db.session, ip_key, cfg["LOGIN_MAX_FAILURES_ADDRESS"])
        audit.record(
            db.session,
            AuditAction.LOGIN_FAILED,
            entity="user",
            entity_id=user.id if user else None,
            detail=name,
        )
        if locked_user or locked_ip:
            audit.record(
                db.session,
                AuditAction.LOCKOUT,
                entity="user",
                entity_id=user.id if user else None,
                detail=f"{'account ' + name if locked_user else ''}"
                f"{' address ' + ip if locked_ip else ''}".strip(),
            )
        db.session.commit()
        if locked_user or locked_ip:
            flash(
                _(
                    "Too many failed attempts. Try again in %(n)d minutes.",
                    n=cfg["LOGIN_LOCK_MINUTES"],
                ),
                "error",
            )
            return render_template("auth/login.html", form=form), 429
        flash(_("Wrong username or password."), "error")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        user = db.session.get(User, current_user.id)
        user.session_version += 1  # ends this session and any remembered one
        audit.record(db.session, AuditAction.LOGOUT, entity="user", entity_id=user.id)
        db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    pw_form = PasswordForm(prefix="pw")
    lang_form = LanguageForm(prefix="lang")
    lang_form.locale.choices = list(current_app.config["LANGUAGES"].items())
    user = db.session.get(User, current_user.id)
    if request.method == "GET":
        lang_form.locale.data = user.locale
    if request.form.get("form") == "password" and pw_form.validate_on_submit():
        if not accounts.check_password(user, pw_form.current.data):
            flash(_("The current password is wrong."), "error")
        elif problem := accounts.password_problem(pw_form.new.data):
            flash(_("The new password is too weak: %(why)s.", why=problem), "error")
        else:
            user.password_hash = accounts.hash_password(pw_form.new.data)
            user.password_changed_at = utcnow()
            user.session_version += 1  # other sessions end
            db.session.commit()
            login_user(user)
            flash(_("Password changed."), "success")
            return redirect(url_for("auth.account"))
    elif request.form.get("form") == "language" and lang_form.validate_on_submit():
        user.locale = lang_form.locale.data
        db.session.commit()
        return redirect(url_for("auth.account"))
    # The page extends the admin layout, which needs Flask-Admin's template context
    # (admin_view, h, get_url...); plain render_template made it a 500. Render it through
    # the admin's index view so the menu and the logout button appear as on every page.
    admin_view = current_app.extensions["admin"][0].index_view
    return admin_view.render("auth/account.html", pw_form=pw_form, lang_form=lang_form)
