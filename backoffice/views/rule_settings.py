"""清欠规则设置: the page where finance sets which Art.3 charges the overdue total counts, the
large amount of Art.16 (2), and the days of warning before a due date (the practice texts).

Anyone who reads the rules may open it (``rule_setting`` view); finance and the admin change
it (``rule_setting`` edit). The rules live in ``services/rule_settings.py``.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user

from backoffice.extensions import db
from backoffice.models.receivable import ChargeKind
from backoffice.permissions import Action, can
from backoffice.services import rule_settings
from backoffice.views.base import deny

RESOURCE = "rule_setting"


class RuleSettingsView(BaseView):
    def is_accessible(self) -> bool:
        return current_user.is_authenticated and can(current_user, RESOURCE, Action.VIEW)

    def is_visible(self) -> bool:
        # In the menu of those who keep the settings; the others read them via the link.
        return current_user.is_authenticated and can(current_user, RESOURCE, Action.EDIT)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return deny(RESOURCE, Action.VIEW)

    @expose("/", methods=("GET", "POST"))
    def index(self):
        may_edit = can(current_user, RESOURCE, Action.EDIT)
        status = 200
        if request.method == "POST":
            if not may_edit:
                return deny(RESOURCE, Action.EDIT)
            try:
                new = rule_settings.parse(
                    request.form.getlist("included"),
                    request.form.get("large_amount", ""),
                    request.form.get("warning_days", ""),
                    request.form.get("reminder_days"),
                )
            except rule_settings.SettingError as exc:
                flash(_("Not saved: %(reason)s", reason=str(exc)), "error")
                status = 400
            else:
                changed = rule_settings.save(db.session, new)
                db.session.commit()
                flash(_("%(n)s setting(s) changed.", n=len(changed)), "success")
                return redirect(url_for(".index"), code=303)
        return self.render(
            "admin/rule_settings.html",
            current=rule_settings.current(db.session),
            kinds=list(ChargeKind),
            may_edit=may_edit,
        ), status
