"""Row scope for objects and relation look-ups: whether an object lies in the user's scope,
scope columns inherited from the owning record, and ajax pickers limited to visible rows."""

from __future__ import annotations

from typing import Any

from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.model.ajax import DEFAULT_PAGE_SIZE
from flask_login import current_user
from sqlalchemy import inspect as sa_inspect

from backoffice.extensions import db
from backoffice.permissions import unit_restricted
from backoffice.views.doors import visible_filter


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
