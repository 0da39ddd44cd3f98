"""Companies, sales units, users and roles."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect as sa_inspect
from wtforms import PasswordField
from wtforms.validators import Optional

from backoffice.extensions import db
from backoffice.services import accounts, handover
from backoffice.views.base import SecuredModelView
from backoffice.views.holds import hand_over_link, user_holds


class CompanyView(SecuredModelView):
    column_list = ("code", "name", "address", "phone")
    column_searchable_list = ("code", "name")
    column_default_sort = "code"
    form_excluded_columns = ("created_at", "updated_at", "sales_units")


class SalesUnitView(SecuredModelView):
    column_list = ("code", "name", "company", "vp", "active")
    column_searchable_list = ("code", "name")
    column_filters = ("company", "active")
    column_default_sort = "code"
    form_excluded_columns = ("created_at", "updated_at")


class UserView(SecuredModelView):
    column_list = (
        "username",
        "display_name",
        "employee_code",
        "roles",
        "sales_units",
        "active",
        "holds",
        "last_login_at",
    )
    column_details_list = (
        "username",
        "display_name",
        "employee_code",
        "email",
        "roles",
        "sales_units",
        "leader_title",
        "active",
        "holds",
        "hand_over",
        "last_login_at",
        "created_at",
    )
    # Art.26: the holds in force show on the person's record; Art.7: the hand-over is one
    # click away.
    column_formatters = {"holds": user_holds}
    column_formatters_detail = {"holds": user_holds, "hand_over": hand_over_link}
    column_labels = {"holds": _l("Holds (Art.26)"), "hand_over": _l("Hand-over (Art.7)")}
    column_details_exclude_list = ("password_hash", "session_version")
    column_export_exclude_list = ("password_hash", "session_version")
    column_searchable_list = ("username", "display_name", "employee_code")
    column_filters = ("active", "roles", "sales_units")
    column_default_sort = "username"
    form_columns = (
        "username",
        "display_name",
        "employee_code",
        "email",
        "roles",
        "sales_units",
        "company_id",
        "leader_title",
        "locale",
        "active",
        "new_password",
    )
    form_extra_fields = {
        "new_password": PasswordField(_l("New password"), validators=[Optional()]),
    }

    def scaffold_form(self):
        form = super().scaffold_form()
        form.new_password = PasswordField(_l("New password"), validators=[Optional()])
        return form

    def on_model_change(self, form, model, is_created):
        new = form.new_password.data if hasattr(form, "new_password") else None
        if new:
            problem = accounts.password_problem(new)
            if problem:
                raise ValueError(problem)
            model.password_hash = accounts.hash_password(new)
            model.session_version = (model.session_version or 1) + 1
        if not is_created and sa_inspect(model).attrs.active.history.deleted == [True]:
            # Art.7, 26: the generic edit door deactivates nobody with open items or a hold.
            blockers = handover.deactivation_blockers(db.session, model)
            if blockers:
                raise ValueError(" ".join(blockers))
        super().on_model_change(form, model, is_created)


class RoleView(SecuredModelView):
    column_list = ("name",)
