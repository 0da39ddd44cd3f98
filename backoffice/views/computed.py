"""What the ledger lists compute in SQL: aging columns, their filters, enum labels.

Shared by the customers list (``views.ledger``) and the receivables list
(``views.receivables``): computed by the list query itself (``ComputedColumnsMixin``), so a
page costs the same statements whatever its size.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import g
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import lazy_gettext as _l
from sqlalchemy import false

from backoffice.extensions import db
from backoffice.memo import per_request
from backoffice.models.receivable import Receivable
from backoffice.services import aging


def _rules() -> aging.DebtClassRules:
    """The debt-class rules, read once per request."""
    if "qq_debt_rules" not in g:
        g.qq_debt_rules = aging.debt_class_rules(db.session)
    return g.qq_debt_rules


_built: dict[tuple, dict[str, Any]] = {}


def built_once(key: tuple, build) -> dict[str, Any]:
    """SQL expressions built once per process for ``key`` (e.g. today and the rules): they are
    immutable, so every request of the day reuses them instead of building ~100 clauses anew
    (8 % of a list request's CPU, issue 13). A few keys are kept: days and settings change."""
    columns = _built.get(key)
    if columns is None:
        if len(_built) >= 16:
            _built.clear()
        columns = _built[key] = build()
    return columns


class ComputedColumnsMixin:
    """Adds SQL-computed values to the rows of a list (and its exports).

    ``computed_columns()`` names SQL expressions over the view's model; they are selected by
    the same statement as the page, and each value is set on its row object under that name.
    """

    def computed_columns(self) -> dict[str, Any]:
        raise NotImplementedError

    def request_computed_columns(self) -> dict[str, Any]:
        """``computed_columns()``, built once per request: the page query and the query of its
        rows (``FastListMixin``) share them, where each used to build its own (issue 13)."""
        return per_request(("computed_columns", self.endpoint), self.computed_columns)

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        count, query = super().get_list(  # type: ignore[misc]
            page, sort_column, sort_desc, search, filters, execute=False, page_size=page_size
        )
        columns = self.request_computed_columns()
        query = query.add_columns(*columns.values())
        if not execute:
            return count, query
        rows = []
        for row in query.all():
            obj = row[0]
            for name, value in zip(columns, row[1:], strict=True):
                setattr(obj, name, value)
            rows.append(obj)
        return count, rows


def _label_formatter(enum_cls):
    def fmt(view, context, model, name):
        value = getattr(model, name, None)
        return "" if value is None else str(enum_cls(value).label)

    return fmt


class AgingFilter(BaseSQLAFilter):
    """Filter receivables by an aging expression as of today (bucket or debt class)."""

    def __init__(self, name, enum_cls, kind: str):
        super().__init__(Receivable.due_date, name, options=enum_cls.choices())
        self.kind = kind

    def apply(self, query, value, alias=None):
        as_of = date.today()
        try:
            if self.kind == "bucket":
                return query.filter(aging.bucket_criterion(as_of, value))
            return query.filter(aging.debt_class_criterion(as_of, value, _rules()))
        except (KeyError, ValueError):
            return query.filter(false())

    def operation(self):
        return _l("equals")
