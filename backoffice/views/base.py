"""``SecuredModelView``: the one place where the permission table meets Flask-Admin.

Every exposed endpoint maps to an action of ``backoffice.permissions``; anonymous users go to
the login page, everyone else who is not allowed gets 403 (and an audit entry). Queries, counts,
details by id, exports, bulk actions, ajax look-ups and relation pickers all pass the row scope.

Its parts live beside it (and are re-exported here, where callers import them from):
``responses`` (deny, attachment, sealed_refused), ``scoping`` (object_in_scope, inherit_scope,
ScopedAjaxLoader), ``fields`` (filter and form converters) and ``formatters``.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Any

from flask import abort, flash, has_request_context, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_babel import LazyString, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError

from backoffice.extensions import db
from backoffice.labels import column_labels_for, label
from backoffice.memo import per_request
from backoffice.menus import in_menu
from backoffice.models.audit import AuditAction
from backoffice.models.base import LabeledEnum
from backoffice.permissions import Action, can, resource_of, scope_filter
from backoffice.services import audit
from backoffice.services.audit import SealedError
from backoffice.views.doors import GENERIC_DOORS, GovernedDoors, visible_filter
from backoffice.views.exporting import ExportMixin
from backoffice.views.fastrows import FastRowsMixin
from backoffice.views.fields import (  # noqa: F401 - re-exported
    ChoiceQuerySelectField,
    ChoiceQuerySelectMultipleField,
    EnumSelectField,
    QQFilterConverter,
    QQModelConverter,
)
from backoffice.views.filters import RelatedFilter, related_filter
from backoffice.views.formatters import (  # noqa: F401 - re-exported
    EXPORT_TYPE_FORMATTERS,
    TYPE_FORMATTERS,
    _enum_formatter,
    _money_formatter,
)
from backoffice.views.responses import attachment, deny, sealed_refused  # noqa: F401
from backoffice.views.scoping import (  # noqa: F401 - re-exported
    ScopedAjaxLoader,
    inherit_scope,
    object_in_scope,
)

# Flask-Admin endpoint → the action it needs.
ENDPOINT_ACTIONS = {
    "index_view": Action.VIEW,
    "details_view": Action.VIEW,
    "ajax_lookup": Action.VIEW,  # and an open generic form that uses it (``_may_fill_forms``)
    "create_view": Action.CREATE,
    "edit_view": Action.EDIT,
    "ajax_update": Action.EDIT,
    "delete_view": Action.DELETE,
    "export": Action.EXPORT,
    "action_view": Action.VIEW,  # each bulk action then checks its own permission
}


class SecuredModelView(GovernedDoors, ExportMixin, FastRowsMixin, ModelView):
    """Base of every model view: permissions, scope, Chinese labels, money formatting."""

    resource: str | None = None
    filter_converter = QQFilterConverter()
    model_form_converter = QQModelConverter
    can_view_details = True
    export_types = ["csv", "xlsx"]
    export_max_rows = 100_000
    # Big tables: never COUNT(*) every row on each list page (STYLE traps).
    simple_list_pager = True
    page_size = 20
    can_set_page_size = True
    page_size_options = (20, 50, 100)
    details_modal = False
    create_modal = False
    edit_modal = False
    column_display_pk = False
    column_default_sort: Any = ("id", True)
    # Scope columns are derived from the owning customer/case, not typed in.
    form_excluded_columns: Any = ("created_at", "updated_at")
    # ModelView constructor arguments for the menu; set by the registry.
    category: str | None = None

    def __init__(self, model, session, **kwargs):
        self.resource = self.resource or resource_of(model)
        labels = column_labels_for(model)
        # Listed names that are not mapped attributes (e.g. a scope column without a
        # relationship) would otherwise get Flask-Admin's untranslated "Sales Unit".
        for name in self.column_list or ():
            if isinstance(name, str) and "." not in name:
                labels.setdefault(name, label(name))
        labels.update(self.column_labels or {})
        self.column_labels = labels
        formatters = dict(TYPE_FORMATTERS)
        self.column_type_formatters = formatters
        # Details pages read the same as lists: labels, 是/否, money, Shanghai time.
        self.column_type_formatters_detail = formatters
        # Exports: values go to services/export.cell_value as they are (one formatter).
        self.column_type_formatters_export = dict(EXPORT_TYPE_FORMATTERS)
        for cls in LabeledEnum.__subclasses__():
            formatters[cls] = _enum_formatter
        self._govern_forms(model)
        super().__init__(model, session, **kwargs)

    def search_placeholder(self) -> str | None:
        """The searched fields' labels, joined the Chinese way (用户名、名称、工号)."""
        text = super().search_placeholder()
        return text.replace(", ", "、") if text else text

    # -- permissions -----------------------------------------------------------------------

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        if self.create_flow_endpoint:
            return redirect(url_for(self.create_flow_endpoint))
        return super().create_view()

    def allowed(self, action: Action | str) -> bool:
        if not has_request_context():
            return True  # Flask-Admin builds its caches at start-up: allow, check per request
        # Once per request and (resource, action): the menu alone asked 107 times for 46 views.
        # The user is loaded afresh by each request and login and logout answer with a redirect,
        # so a role change takes effect on the next request, as before.
        return per_request(
            ("can", self.resource, Action(action)),
            lambda: can(current_user._get_current_object(), self.resource, action),
        )

    @property
    def can_export(self) -> bool:  # type: ignore[override]
        return self.allowed(Action.EXPORT)

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and self.allowed(Action.VIEW)

    def is_visible(self) -> bool:
        # The menu shows the role's daily lists; the rest is on the "All records" page. The
        # menu asks each entry three or four times per page: answer once per request.
        return per_request(
            ("visible", self.endpoint),
            lambda: self.is_accessible() and in_menu(current_user, self.endpoint),
        )

    def _handle_view(self, name, **kwargs):
        action = ENDPOINT_ACTIONS.get(name, Action.VIEW)
        if not current_user.is_authenticated or not self.allowed(Action.VIEW):
            return deny(self.resource, Action.VIEW)
        if name in GENERIC_DOORS:
            if not self.generic_allowed(GENERIC_DOORS[name]):
                return deny(self.resource, GENERIC_DOORS[name])
            return self._refuse_governed_post(name)
        if name == "ajax_lookup" and not self._may_fill_forms():
            return deny(self.resource, "lookup")
        if not self.allowed(action):
            return deny(self.resource, action)
        return None

    def inaccessible_callback(self, name, **kwargs):
        return deny(self.resource, ENDPOINT_ACTIONS.get(name, Action.VIEW))

    def is_action_allowed(self, name: str) -> bool:
        if name == "delete":
            return self.can_delete
        needed = getattr(getattr(self, f"action_{name}", None), "_permission", Action.EDIT)
        return super().is_action_allowed(name) and self.allowed(needed)

    def handle_action(self, return_view=None):
        name = request.form.get("action")
        if name and not self.is_action_allowed(name):
            return deny(self.resource, f"action:{name}")
        return super().handle_action(return_view)

    @action(*ModelView.action_delete._action)
    def action_delete(self, ids):
        # Flask-Admin filters the posted row ids as text; PostgreSQL will not compare
        # integer = varchar, so every bulk delete answered 500 there (and never reached the
        # seal guard's refusal). Convert them to the key's type first; unparsable ids are
        # dropped (they match no row anyway).
        pk = sa_inspect(self.model).primary_key
        try:
            kind = pk[0].type.python_type if len(pk) == 1 else None
        except NotImplementedError:
            kind = None
        if kind is not None:
            typed = []
            for raw in ids:
                try:
                    typed.append(kind.fromisoformat(raw) if kind is date else kind(raw))
                except (TypeError, ValueError):
                    continue
            ids = tuple(typed)
        return super().action_delete(ids)

    # -- row scope ---------------------------------------------------------------------------

    def get_query(self):
        return super().get_query().filter(scope_filter(self.model, current_user))

    def get_count_query(self):
        return super().get_count_query().filter(scope_filter(self.model, current_user))

    def get_one(self, id):
        obj = self.get_query().filter(self._pk_criterion(id)).one_or_none()
        if obj is None and has_request_context():
            abort(404)
        return obj

    def _pk_criterion(self, id):
        pk = sa_inspect(self.model).primary_key[0]
        try:
            kind = pk.type.python_type
            # date(...) does not parse "2026-01-05": date-keyed rows (the working-day
            # calendar) answered 404 on details/edit/delete before.
            value = kind.fromisoformat(id) if kind is date else kind(id)
        except (TypeError, ValueError, NotImplementedError):
            abort(404)
        return pk == value

    def _create_ajax_loader(self, name, options):
        attr = getattr(self.model, name)
        remote = attr.prop.mapper.class_
        return ScopedAjaxLoader(name, self.session, remote, **options)

    def _scope_form(self, form):
        """Limit every relation picker of a form to rows inside the user's scope."""
        for field in form:
            factory = getattr(field, "query_factory", None)
            if factory is not None:
                query = factory()
                entity = query.column_descriptions[0]["entity"]
                field.query = query.filter(visible_filter(entity, current_user))
        return form

    def create_form(self, obj=None):
        return self._scope_form(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._scope_form(super().edit_form(obj))

    def on_model_change(self, form, model, is_created):
        inherit_scope(model)
        if not object_in_scope(model, current_user):
            raise ValueError(_("You may only record data of your own sales units."))
        super().on_model_change(form, model, is_created)

    # -- saving: a refused change is a clear message and is audited --------------------------

    def scaffold_filters(self, name):
        # A relation to a unit, company, user or role: one choice list of names (issue 11).
        flt = related_filter(self.model, name, self.get_column_name(name))
        if flt is not None:
            return [flt]
        filters = super().scaffold_filters(name)
        # Any other relation's filters: Flask-Admin names them "Customer / Name" in English at
        # start-up; people read 客户 / 名称, translated per request.
        own = getattr(self.model, "__table__", None)
        for item in filters or ():
            column = getattr(item, "column", None)
            table = getattr(column, "table", None)
            if table is not None and own is not None and table.name != own.name:
                item.name = LazyString(
                    lambda rel=name, col=column.name: f"{self.get_column_name(rel)} / {label(col)}"
                )
        return filters

    def _get_filter_groups(self):
        # Flask-Admin translates every filter's name, operation and options on each page (5 %
        # of a list request); they depend on the language only: once per language (issue 13).
        # Options from the database (units, companies) are set per request below.
        cache = self.__dict__.setdefault("_qq_filter_groups", {})
        locale = str(get_locale()) if has_request_context() else None
        if locale not in cache:
            cache[locale] = super()._get_filter_groups()
        groups = cache[locale]
        if groups is not None:
            groups = type(groups)((k, [dict(i) for i in items]) for k, items in groups.items())
        if groups and has_request_context() and current_user.is_authenticated:
            for items in groups.values():
                for item in items:
                    flt = self._filters[item["index"]]
                    if isinstance(flt, RelatedFilter):
                        item["options"] = flt.scoped_options(current_user)
        return groups

    def handle_view_exception(self, exc):
        if isinstance(exc, IntegrityError):
            # A unique or foreign key the form could not see (e.g. a second open case of one
            # customer): a refusal, not a 500.
            db.session.rollback()
            audit.record_now(AuditAction.REFUSED, entity=self.resource, detail=str(exc.orig))
            flash(_("This change conflicts with an existing record and was not saved."), "error")
            return True
        if isinstance(exc, SealedError | ValueError | PermissionError):
            db.session.rollback()
            audit.record_now(AuditAction.REFUSED, entity=self.resource, detail=str(exc))
            flash(str(exc), "error")
            return True
        return super().handle_view_exception(exc)


def new_number(prefix: str) -> str:
    """A fresh, unique document number such as ``AJ20260105-3F9A1C`` (no side effects)."""
    import secrets

    from backoffice.models.base import utcnow

    return f"{prefix}{utcnow():%Y%m%d}-{secrets.token_hex(3).upper()}"


def enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value
