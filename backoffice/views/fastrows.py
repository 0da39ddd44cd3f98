"""List rows rendered in Python, their row actions built once per page (issue 13).

Flask-Admin's list template renders each cell through a Jinja block, a ``get_value`` call and a
search of the type formatters (one ``isinstance`` per formatter, and every labelled enum has
one), and each row's action links through a macro and ``url_for``. On a 20-row page of ten
columns that was most of the request's CPU. ``FastRowsMixin`` renders the same cells with the
same formatters and escaping, in one Python call per row:

- the type formatter of a value is looked up once per value type and list (the first matching
  entry in the formatters' order, as Flask-Admin does);
- each row action whose link depends only on the row's key (view, edit, delete and endpoint
  links) is rendered once per page with a placeholder key, which each row then fills in; other
  actions are rendered per row as before;
- lists with inline-editable columns keep Flask-Admin's template rows.

The page around the rows (header, filters, pager, actions) is Flask-Admin's template.
"""

from __future__ import annotations

import re
from typing import Any

from flask_admin.babel import gettext as admin_gettext
from flask_admin.model import template as row_templates
from jinja2 import pass_context
from markupsafe import Markup, escape
from werkzeug.routing import BuildError

from backoffice.memo import per_request

#: Stands for the row's key while an action is rendered once: digits, so that routes with an
#: ``<int:id>`` accept it; url_for and HTML escaping leave it unchanged, as they leave a key
#: that matches ``_PLAIN_KEY``.
PLACEHOLDER = "9071528364519283746"
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")
#: Row actions whose HTML depends on the row's key alone.
_BY_KEY = (
    row_templates.ViewRowAction,
    row_templates.ViewPopupRowAction,
    row_templates.EditRowAction,
    row_templates.EditPopupRowAction,
    row_templates.DeleteRowAction,
    row_templates.EndpointLinkRowAction,
)


class FastRowsMixin:
    """Mix into a Flask-Admin ``ModelView``; its list uses ``admin/fast_list.html``."""

    list_template = "admin/fast_list.html"

    def _type_formatter(self, formatters: dict, kind: type) -> Any:
        """The first formatter whose type ``kind`` is an instance of (Flask-Admin's rule)."""
        cache = self.__dict__.setdefault("_qq_type_formatters", {})
        key = (id(formatters), kind)
        if key not in cache:
            cache[key] = next(
                (fmt for typ, fmt in formatters.items() if issubclass(kind, typ)), None
            )
        return cache[key]

    def _get_list_value(self, context, model, name, column_formatters, column_type_formatters):
        column_fmt = column_formatters.get(name)
        if column_fmt is not None:
            value = column_fmt(self, context, model, name)
        else:
            value = self._get_field_value(model, name)
        choices_map = self._column_choices_map.get(name, {})
        if choices_map:
            return choices_map.get(value) or value
        type_fmt = self._type_formatter(column_type_formatters, type(value))
        if type_fmt is not None:
            value = type_fmt(self, value, name)
        return value

    def _row_parts(self, context) -> dict:
        """What every row of this page shares: the checkbox and the actions' HTML."""
        actions = []
        stand_in = None
        # A row that has the placeholder for its key (unless the page's own URL holds it).
        if isinstance(self._primary_key, str) and PLACEHOLDER not in str(
            context.resolve("return_url")
        ):
            stand_in = type("KeyOnly", (), {self._primary_key: PLACEHOLDER})()
        for action in context.resolve("list_row_actions") or ():
            shared = None
            if stand_in is not None and type(action) in _BY_KEY:
                try:
                    shared = action.render(context, PLACEHOLDER, stand_in)
                except (ValueError, LookupError, BuildError):  # rendered per row instead
                    shared = None
            actions.append((action, shared))
        checkbox = None
        if context.resolve("actions"):
            checkbox = Markup(
                '<td>\n<input type="checkbox" name="rowid" class="action-checkbox" value="{}"'
                ' title="{}" />\n</td>'
            ).format(PLACEHOLDER, admin_gettext("Select record"))
        return {
            "actions": actions,
            "checkbox": checkbox,
            "columns": [
                (name, Markup('<td class="col-{}">').format(name)) for name, _ in self._list_columns
            ],
        }

    @pass_context
    def render_list_row(self, context, row: Any) -> Markup:
        """One row's cells (without ``<tr>``), as Flask-Admin's ``list_row`` block renders them."""
        parts = per_request(("qq_row_parts", id(self)), lambda: self._row_parts(context))
        key = self.get_pk_value(row)
        plain = isinstance(key, str) and _PLAIN_KEY.fullmatch(key) is not None
        out = []
        if parts["checkbox"] is not None:
            out.append(parts["checkbox"].replace(PLACEHOLDER, key))  # Markup: key escaped
        if self.column_display_actions:
            out.append(Markup('<td class="list-buttons-column">'))
            for action, shared in parts["actions"]:
                if shared is not None and plain:
                    out.append(shared.replace(PLACEHOLDER, key))
                else:
                    out.append(action.render(context, key, row))
            out.append(Markup("</td>"))
        formatters, type_formatters = self.column_formatters, self.column_type_formatters
        for name, opening in parts["columns"]:
            value = self._get_list_value(context, row, name, formatters, type_formatters)
            out.append(opening)
            out.append(escape(value))
            out.append(Markup("</td>"))
        return Markup("\n").join(out)
