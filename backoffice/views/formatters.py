"""How a value reads in lists, details pages and exports: labels, 是/否, money, Shanghai time."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext as _
from markupsafe import Markup

from backoffice.labels import label
from backoffice.models.base import LabeledEnum
from backoffice.services.export import yes_no
from backoffice.services.formatting import format_money


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
# Exports format each cell once, in ``services/export.cell_value`` (typed amounts and dates,
# 是/否, enum labels, JSON in words, inert text): no export type formatters of the views.
EXPORT_TYPE_FORMATTERS: dict = {}
