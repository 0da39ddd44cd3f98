"""A filter on a relation to a small reference table (sales unit, company, user, role), shown as
one choice list of the related records' names, in the user's scope.

Flask-Admin's own filter for a relation offers one text filter per column of the related table,
labelled "Sales unit / Code", "Company / Bank Account" (issue 11). People pick a unit by name.
"""

from __future__ import annotations

from typing import Any

from flask_admin.contrib.sqla.filters import FilterEqual
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.permissions import scope_filter, unit_restricted
from backoffice.services import ledger_cache

#: Related tables small enough to list whole in a filter's choice list.
SMALL_TABLES = frozenset({"sales_unit", "company", "user", "role"})
MAX_OPTIONS = 500


def _owned(model: type) -> bool:
    """Whether ``model``'s scope depends on more than company and units (owner or parent)."""
    return bool(getattr(model, "__scope_owner__", None) or getattr(model, "__scope_parent__", None))


class RelatedFilter(FilterEqual):
    """``column`` (a foreign key) equals the chosen related record."""

    def __init__(self, column: Any, name: Any, target: type):
        super().__init__(column, name)
        self.target = target

    def scoped_options(self, user: Any) -> list[tuple[str, str]]:
        """The related records the user may see, by name.

        Units and companies are ledger tables: their list is kept per scope for as long as the
        ledger version lasts (a new or renamed unit is a ledger change). Users and roles are
        read on every request (a role's name follows the user's language).
        """
        table = self.target.__tablename__
        if table not in ledger_cache.LEDGER_TABLES or _owned(self.target):
            return self._read_options(user)
        # What ``scope_filter`` reads about the user for a table without owner or parent.
        units = tuple(sorted(user.unit_ids)) if unit_restricted(user) else None
        key = ("filter_options", table, user.company_id, units)
        return list(ledger_cache.cached(db.session, key, None, lambda: self._read_options(user)))

    def _read_options(self, user: Any) -> list[tuple[str, str]]:
        rows = db.session.scalars(
            select(self.target).where(scope_filter(self.target, user)).limit(MAX_OPTIONS)
        ).all()
        return sorted(((str(r.id), str(r)) for r in rows), key=lambda o: o[1])

    def validate(self, value: str) -> bool:
        return str(value).isdigit()

    def clean(self, value: str) -> int:
        return int(value)  # PostgreSQL will not compare an integer column with text


def related_filter(model: type, name: str, label: Any) -> RelatedFilter | None:
    """A ``RelatedFilter`` for ``model.name`` when it is a many-to-one relation to a small
    reference table through one foreign key; None otherwise."""
    attr = getattr(model, name, None) if isinstance(name, str) else None
    prop = getattr(attr, "property", None)
    if prop is None or not hasattr(prop, "mapper") or prop.uselist:
        return None
    target = prop.mapper.class_
    local = list(prop.local_columns)
    if getattr(target, "__tablename__", None) not in SMALL_TABLES or len(local) != 1:
        return None
    return RelatedFilter(getattr(model, local[0].key), label, target)
