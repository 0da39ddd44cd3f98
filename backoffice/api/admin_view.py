"""The token screen (System → Integration tokens): list, create (secret shown once), revoke.

Administrators create and revoke; auditors may look (they read everything, change nothing);
everyone else gets 403, audited. The page never shows a token's hash, and the secret only in
the response to its creation, which is never cached.
"""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from backoffice.api import tokens
from backoffice.api.scopes import SCOPES, scope_labels
from backoffice.extensions import db
from backoffice.models.api import ApiToken
from backoffice.models.org import Company
from backoffice.permissions import Action, can
from backoffice.views.base import deny

RESOURCE = "api_token"


class ApiTokenView(BaseView):
    def is_accessible(self) -> bool:
        return current_user.is_authenticated and can(current_user, RESOURCE, Action.VIEW)

    def is_visible(self) -> bool:
        return self.is_accessible()

    def inaccessible_callback(self, name, **kwargs):
        return deny(RESOURCE, Action.VIEW)

    def _companies(self) -> list[Company]:
        stmt = select(Company).order_by(Company.code)
        if current_user.company_id is not None:  # a company-scoped admin: their company only
            stmt = stmt.where(Company.id == current_user.company_id)
        return list(db.session.scalars(stmt))

    @expose("/")
    def index(self):
        ids = [c.id for c in self._companies()]
        rows = db.session.scalars(
            select(ApiToken).where(ApiToken.company_id.in_(ids)).order_by(ApiToken.id.desc())
        ).all()
        return self.render(
            "api/tokens.html",
            rows=[
                (t, tokens.state(t), scope_labels(t.scopes), tokens.last_valid_day(t)) for t in rows
            ],
            may_create=can(current_user, RESOURCE, Action.CREATE),
            may_revoke=can(current_user, RESOURCE, Action.EDIT),
        )

    @expose("/new", methods=("GET", "POST"))
    def create_view(self):
        if not can(current_user, RESOURCE, Action.CREATE):
            return deny(RESOURCE, Action.CREATE)
        companies = self._companies()
        form = {"name": "", "company": "", "scopes": [], "expires": ""}
        if request.method == "POST":
            form = {
                "name": request.form.get("name", ""),
                "company": request.form.get("company", ""),
                "scopes": request.form.getlist("scopes"),
                "expires": request.form.get("expires", ""),
            }
            try:
                company_id = int(form["company"])
                if company_id not in {c.id for c in companies}:
                    raise tokens.TokenError(_("Choose the company the token works for."))
                try:
                    last_day = date.fromisoformat(form["expires"]) if form["expires"] else None
                except ValueError as exc:
                    raise tokens.TokenError(_("The expiry date is not a date.")) from exc
                token, secret = tokens.create_token(
                    db.session,
                    name=form["name"],
                    company_id=company_id,
                    scopes=form["scopes"],
                    expires_at=tokens.expiry_of(last_day),
                    user_id=current_user.id,
                )
            except ValueError as exc:  # TokenError, or a company that is not a number
                db.session.rollback()
                message = str(exc) if isinstance(exc, tokens.TokenError) else None
                flash(message or _("Choose the company the token works for."), "error")
            else:
                db.session.commit()
                # Shown this once: the page is not cached and the secret is stored nowhere.
                return self.render(
                    "api/token_created.html",
                    token=token,
                    secret=secret,
                    scopes=scope_labels(token.scopes),
                )
        return self.render("api/token_new.html", companies=companies, scopes=SCOPES, form=form)

    @expose("/<int:token_id>/revoke", methods=("POST",))
    def revoke_view(self, token_id: int):
        if not can(current_user, RESOURCE, Action.EDIT):
            return deny(RESOURCE, Action.EDIT)
        token = db.session.get(ApiToken, token_id)
        if token is None or token.company_id not in {c.id for c in self._companies()}:
            return deny(RESOURCE, Action.EDIT)
        if tokens.revoke(db.session, token, current_user.id):
            db.session.commit()
            flash(
                _(
                    "Token %(name)s is revoked; calls with it are refused from now on.",
                    name=token.name,
                ),
                "info",
            )
        return redirect(url_for(".index"))
