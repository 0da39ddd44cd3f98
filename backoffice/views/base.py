"""``SecuredModelView``: the one place where the permission table meets Flask-Admin.

Every exposed endpoint maps to an action of ``backoffice.permissions``; anonymous users go to
the login page, everyone else who is not allowed gets 403 (and an audit entry). Queries, counts,
details by id, exports, bulk actions, ajax look-ups and relation pickers all pass the row scope.
"""

from __future__ import annotations

import enum
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import abort, flash, has_request_context, redirect, request, send_file, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.contrib.sqla.fields import QuerySelectField, QuerySelectMultipleField
from flask_admin.contrib.sqla.filters import FilterConverter
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.form import DateTimeField, Select2Field
from flask_admin.model.ajax import DEFAULT_PAGE_SIZE
from flask_admin.model.filters import convert
from flask_admin.model.form import converts
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from wtforms import DecimalField
from wtforms.fields import Choice, SelectChoice

from backoffice.extensions import db
from backoffice.labels import column_labels_for, label
from backoffice.memo import per_request
from backoffice.menus import in_menu
from backoffice.models.audit import AuditAction
from backoffice.models.base import LabeledEnum
from backoffice.permissions import Action, can, resource_of, scope_filter, unit_restricted
from backoffice.services import audit
from backoffice.services.audit import SealedError
from backoffice.services.export import yes_no
from backoffice.services.formatting import format_money
from backoffice.views.doors import GENERIC_DOORS, GovernedDoors, safe_target, visible_filter
from backoffice.views.exporting import ExportMixin
from backoffice.views.filters import RelatedFilter, related_filter

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


def object_in_scope(obj: Any, user: Any) -> bool:
    """Whether a (possibly unsaved) object lies inside the user's row scope."""
    parent = getattr(type(obj), "__scope_parent__", None)
    if parent:
        target = getattr(obj, parent)
        if target is None:
            fk = next(iter(sa_inspect(type(obj)).relationships[parent].local_columns))
            target_cls = sa_inspect(type(obj)).relationships[parent].mapper.class_
            fk_value = getattr(obj, fk.key)
            target = db.session.get(target_cls, fk_value) if fk_value is not None else None
        return target is not None and object_in_scope(target, user)
    company_col = getattr(type(obj), "__scope_company__", "company_id")
    if (user.company_id is not None and company_col and hasattr(obj, company_col)
            and getattr(obj, company_col) != user.company_id):
        return False
    unit_col = getattr(type(obj), "__scope_unit__", "sales_unit_id")
    if unit_restricted(user) and unit_col and hasattr(obj, unit_col):
        return getattr(obj, unit_col) in user.unit_ids
    owner = getattr(type(obj), "__scope_owner__", None)
    return not owner or getattr(obj, owner) == user.id


class ScopedAjaxLoader(QueryAjaxModelLoader):
    """Ajax relation look-ups limited to the rows the current user may see."""

    def get_query(self):
        return super().get_query().filter(visible_filter(self.model, current_user))

    def get_one(self, pk):
        column = sa_inspect(self.model).primary_key[0]
        try:
            # The form posts the id as text; PostgreSQL will not compare integer = varchar.
            pk = column.type.python_type(pk)
        except (TypeError, ValueError, NotImplementedError):
            return None
        with db.session.no_autoflush:
            return self.get_query().filter(column == pk).one_or_none()

    def get_list(self, term, offset=0, limit=DEFAULT_PAGE_SIZE):
        return super().get_list(term, offset, min(limit, 50))


def _enum_formatter(view, value, name=None):
    return value.label if isinstance(value, LabeledEnum) else value


def _money_formatter(view, value, name=None):
    # The span lets the list right-align every money column and keep it on one line.
    return Markup('<span class="qq-money">{}</span>').format(format_money(value))


def _bool_formatter(view, value, name=None):
    return yes_no(value)


def _list_formatter(view, value, name=None):
    # Flask-Admin prints a relation list with repr(): "[<Role 1>]"; people read names.
    return "、".join(str(item) for item in value)


def _date_formatter(view, value, name=None):
    return value.isoformat()


def _datetime_formatter(view, value, name=None):
    from backoffice.services.formatting import local_datetime

    return local_datetime(value)


def _mapping_formatter(view, value, name=None):
    from backoffice.services.formatting import readable_value

    return readable_value(value, label, _("Yes"), _("No"))


TYPE_FORMATTERS = {
    Decimal: _money_formatter,
    bool: _bool_formatter,
    list: _list_formatter,
    dict: _mapping_formatter,
    LabeledEnum: _enum_formatter,
    # datetime before date: Flask-Admin takes the first isinstance match, and a datetime is a date.
    datetime: _datetime_formatter,
    date: _date_formatter,
    type(None): lambda view, value, name=None: "",
}
# Exports keep amounts and dates typed: the writers (services/export.py) format and neutralise.
EXPORT_TYPE_FORMATTERS = {
    type(None): lambda view, value, name=None: "",
    bool: lambda view, value, name=None: yes_no(value),
}


class QQFilterConverter(FilterConverter):
    """Filters for our own column types (exact money, aware timestamps)."""

    @convert("money", "rate")
    def conv_money(self, column, name, **kwargs):
        return self.conv_float(column, name, **kwargs)

    @convert("utcdatetime")
    def conv_utcdatetime(self, column, name, **kwargs):
        return self.conv_datetime(column, name, **kwargs)

    @convert("enum")
    def conv_enum(self, column, name, options=None, **kwargs):
        # Flask-Admin's enum filters look the member up by *name* (``enum_class[value]``) but
        # offered the stored values ('open'), so picking one raised KeyError. Offer the names,
        # labelled in the user's language (the label is rendered per request).
        enum_cls = getattr(column.type, "enum_class", None)
        if not options and enum_cls is not None and issubclass(enum_cls, LabeledEnum):
            options = [(member.name, member.label) for member in enum_cls]
        return super().conv_enum(column, name, options, **kwargs)


def _enum_coerce(value: Any) -> Any:
    # A LabeledEnum is a str whose str() is its label: compare by the stored value.
    return value.value if isinstance(value, enum.Enum) else str(value)


class _ChoiceObjects:
    """Yield WTForms ``Choice`` objects where Flask-Admin 2.2 yields raw tuples.

    WTForms 3.3 deprecates tuples from ``iter_choices()``; the warning fires when the select is
    rendered, so under ``filterwarnings=error`` every form with a relation picker answered 500.
    """

    def iter_choices(self):
        for choice in super().iter_choices():
            if not isinstance(choice, Choice):
                value, text, selected, *render_kw = choice
                if value == "__None" and not text:
                    text = " "  # WTForms prints an empty label as the value, "__None"
                choice = Choice(value, text, selected, render_kw[0] if render_kw else {})
            yield choice


class ChoiceQuerySelectField(_ChoiceObjects, QuerySelectField):
    pass


class ChoiceQuerySelectMultipleField(_ChoiceObjects, QuerySelectMultipleField):
    pass


class EnumSelectField(Select2Field):
    """The select of a ``LabeledEnum`` column: stored values, labels in the user's language.

    Flask-Admin's own enum select passes ``choices`` as tuples and yields tuples from
    ``iter_choices()``; WTForms 3.3 deprecates both, so under ``filterwarnings=error`` every
    /new/ and /edit/ page with an enum answered 500 (STYLE "Traps"). It also labelled options
    with the raw value and coerced a loaded member by its name, so the current value was never
    pre-selected. This field takes ``SelectChoice`` objects and yields ``Choice`` objects.
    """

    def iter_choices(self):
        if self.allow_blank:
            yield Choice("__None", self.blank_text, self.data is None, {})
        for choice in self._choices_from_input(self.choices) or ():
            selected = self.coerce(choice.value) == self.data
            yield Choice(choice.value, choice.label, selected, choice.render_kw)


class QQModelConverter(AdminModelConverter):
    """Form fields for our own column types."""

    @converts("Money")
    def conv_money(self, field_args, **extra):
        field_args.setdefault("places", 2)
        return DecimalField(**field_args)

    @converts("Rate")
    def conv_rate(self, field_args, **extra):
        field_args.setdefault("places", None)
        return DecimalField(**field_args)

    @converts("UTCDateTime")
    def conv_utcdatetime(self, field_args, **extra):
        return DateTimeField(**field_args)

    def _model_select_field(self, prop, multiple, remote_model, **kwargs):
        field = super()._model_select_field(prop, multiple, remote_model, **kwargs)
        swap = {
            QuerySelectField: ChoiceQuerySelectField,
            QuerySelectMultipleField: ChoiceQuerySelectMultipleField,
        }
        field.field_class = swap.get(field.field_class, field.field_class)
        return field

    @converts("sqlalchemy.sql.sqltypes.Enum")
    def convert_enum(self, column, field_args, **extra):
        enum_cls = getattr(column.type, "enum_class", None)
        if enum_cls is None or not issubclass(enum_cls, LabeledEnum):
            return super().convert_enum(column, field_args, **extra)
        if column.nullable:
            field_args["allow_blank"] = True
        self._nullable_common(column, field_args)
        field_args["choices"] = [SelectChoice(member.value, member.label) for member in enum_cls]
        field_args["coerce"] = _enum_coerce
        return EnumSelectField(**field_args)


class SecuredModelView(GovernedDoors, ExportMixin, ModelView):
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
        self.column_type_formatters_export = dict(EXPORT_TYPE_FORMATTERS)
        for cls in LabeledEnum.__subclasses__():
            formatters[cls] = _enum_formatter
            self.column_type_formatters_export[cls] = lambda v, value, name=None: str(value.label)
        self._govern_forms(model)
        super().__init__(model, session, **kwargs)

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
        return [flt] if flt is not None else super().scaffold_filters(name)

    def _get_filter_groups(self):
        groups = super()._get_filter_groups()
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


def inherit_scope(obj: Any) -> None:
    """Copy company and sales unit from the owning customer (or case) onto a new row."""
    if not hasattr(obj, "company_id") or not hasattr(obj, "sales_unit_id"):
        return
    if getattr(type(obj), "__scope_unit__", "sales_unit_id") != "sales_unit_id":
        return
    source = None
    for rel, fk in (
        ("customer", "customer_id"),
        ("case", "case_id"),
        ("application", "application_id"),
    ):
        if hasattr(obj, fk) and getattr(obj, fk) is not None or getattr(obj, rel, None) is not None:
            source = getattr(obj, rel, None)
            if source is None:
                target = sa_inspect(type(obj)).relationships[rel].mapper.class_
                source = db.session.get(target, getattr(obj, fk))
            break
    if source is None:
        return
    if obj.company_id is None:
        obj.company_id = source.company_id
    if obj.sales_unit_id is None:
        obj.sales_unit_id = source.sales_unit_id


def new_number(prefix: str) -> str:
    """A fresh, unique document number such as ``AJ20260105-3F9A1C`` (no side effects)."""
    import secrets

    from backoffice.models.base import utcnow

    return f"{prefix}{utcnow():%Y%m%d}-{secrets.token_hex(3).upper()}"


def enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value
