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
from backoffice.permissions import scope_filter

#: Related tables small enough to list whole in a filter's choice list.
SMALL_TABLES = frozenset({"sales_unit", "company", "user", "role"})
MAX_OPTIONS = 500


class RelatedFilter(FilterEqual):
    """``column`` (a foreign key) equals the chosen related record."""

    def __init__(self, column: Any, name: Any, target: type):
        super().__init__(column, name)
        self.target = target

    def scoped_options(self, user: Any) -> list[tuple[str, str]]:
        """The related records the user may see, by name (read per request)."""
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
