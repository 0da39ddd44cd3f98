"""Flask-Admin's generic doors, narrowed to what no rule governs (issue 10).

- ``GovernedDoors``, mixed into ``SecuredModelView``: reads ``backoffice.governance`` for the
  view's resource, so a new view of a governed model cannot forget it. Generic create
  redirects to the record's own flow (or is refused), generic edit, ``ajax_update`` and delete
  are shut or limited to the fields no rule governs, and a POST naming a governed field is
  refused and audited. Ajax look-ups serve only those who may fill a generic form.
- ``visible_filter``: what a relation picker or look-up may offer (row scope; users only as
  far as the role may see them).
- ``safe_target``: every redirect to a user-supplied target (Flask-Admin's ``url``, a
  Referer, a stored link) passes the login ``next`` rule, ``accounts.safe_next``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import flask_admin.actions
import flask_admin.model.base
from flask import flash, has_request_context, redirect, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_
from sqlalchemy import inspect as sa_inspect

from backoffice.governance import generic_can, governed_fields, workflow_of
from backoffice.labels import label
from backoffice.models.audit import AuditAction
from backoffice.models.org import SalesUnit
from backoffice.models.user import User
from backoffice.permissions import Action, can, scope_filter, unit_restricted
from backoffice.services import accounts, audit

#: Flask-Admin's generic doors: narrowed by the resource's workflow (``backoffice.governance``).
GENERIC_DOORS = {
    "create_view": Action.CREATE,
    "edit_view": Action.EDIT,
    "ajax_update": Action.EDIT,
    "delete_view": Action.DELETE,
}
#: The generic doors that write the posted form fields.
FORM_DOORS = ("create_view", "edit_view", "ajax_update")


def safe_target(target: str | None, default: Any = None) -> Any:
    """``target`` if it is a path on this site (the login ``next`` rule,
    ``accounts.safe_next``), else ``default``. A full URL of this very host (a browser's
    Referer) is reduced to its path first."""
    if target and has_request_context():
        parts = urlsplit(target)
        if parts.scheme in ("http", "https") and parts.netloc == request.host:
            target = urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
    return accounts.safe_next(target, default)


def safe_redirect_target(param_name: str = "url") -> str | None:
    """Flask-Admin's ``get_redirect_target`` with our safe-URL rule: its own check let
    ``http:/evil.example`` through, which browsers follow to another site."""
    return safe_target(request.values.get(param_name))


# Every Flask-Admin redirect to a posted or linked ``url`` (create, edit, delete, details, bulk
# actions) goes through the same rule as the login ``next``.
flask_admin.model.base.get_redirect_target = safe_redirect_target
flask_admin.actions.get_redirect_target = safe_redirect_target


def visible_filter(model: type, user: Any) -> Any:
    """What a relation picker or ajax look-up of ``model`` may offer ``user``: the row scope,
    and, for people, the whole user list only to those who may view users; everyone else
    gets the active users of their own units (a collector) or company (§2)."""
    criterion = scope_filter(model, user)
    if model is not User or can(user, "user", Action.VIEW):
        return criterion
    limits = [criterion, User.active.is_(True)]
    if unit_restricted(user):
        limits.append(User.sales_units.any(SalesUnit.id.in_(sorted(user.unit_ids))))
    return and_(*limits)


class GovernedDoors:
    """The generic doors of a ``SecuredModelView``, narrowed by its resource's workflow."""

    # -- governed records: the generic forms never carry a field a rule governs ----------------

    #: Names of the model's attributes that a rule governs (``backoffice.governance``).
    governed: frozenset[str] = frozenset()

    def _govern_forms(self, model) -> None:
        """Narrow this view's generic forms, editable list columns and ajax look-ups to the
        fields no rule governs. Declared once per resource in ``backoffice.governance``, so a
        new view of a governed model cannot forget it."""
        mapper = sa_inspect(model)
        keys = {c.key for c in mapper.primary_key}  # never written by a generic form
        self.governed = governed_fields(
            self.resource, (a.key for a in mapper.attrs if a.key not in keys)
        )
        rule = workflow_of(self.resource)
        if rule is not None and rule.editable:
            self.form_columns = tuple(
                c for c in (self.form_columns or sorted(rule.editable)) if c in rule.editable
            )
        elif rule is None and self.governed:
            self.form_excluded_columns = tuple(
                dict.fromkeys((*(self.form_excluded_columns or ()), *sorted(self.governed)))
            )
        if self.column_editable_list:
            self.column_editable_list = tuple(
                c for c in self.column_editable_list if c not in self.governed
            )
        if self.form_ajax_refs:
            self.form_ajax_refs = {
                k: v for k, v in self.form_ajax_refs.items() if k not in self.governed
            }

    def _refuse_governed_post(self, name: str) -> Any:
        """A generic form POST naming a governed field (a crafted request: our forms never
        show one) is refused as a whole, audited, and answered with a clear message."""
        if name not in FORM_DOORS or request.method != "POST":
            return None
        if name == "create_view" and self.create_flow_endpoint:
            return None  # redirected to the flow; nothing is saved
        posted = sorted(self.governed.intersection(request.form.keys()))
        if not posted:
            return None
        fields = "、".join(str(self.column_labels.get(f, label(f))) for f in posted)
        message = _(
            "%(fields)s cannot be changed here: it changes only on the record's own page, "
            "under its rules.",
            fields=fields,
        )
        audit.record_now(
            AuditAction.REFUSED,
            entity=self.resource,
            entity_id=request.args.get("id") or request.form.get("list_form_pk"),
            detail=f"{name}: governed field(s) {', '.join(posted)}",
        )
        if name == "ajax_update":
            return message, 400
        flash(message, "error")
        return redirect(request.full_path.rstrip("?"), code=303)

    @property
    def create_flow_endpoint(self) -> str | None:
        """Rows created only through this flow (an upload, an application form that enforces
        the rules): the generic create form redirects there and creates nothing."""
        rule = workflow_of(self.resource)
        return rule.create_flow if rule is not None else None

    def generic_allowed(self, action: Action | str) -> bool:
        """``allowed``, narrowed for Flask-Admin's generic doors by the resource's workflow."""
        if not has_request_context():
            return True
        return generic_can(current_user, self.resource, action)

    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return self.generic_allowed(Action.CREATE)

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return self.generic_allowed(Action.EDIT)

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        return self.generic_allowed(Action.DELETE)

    def _may_fill_forms(self) -> bool:
        """Ajax look-ups serve the generic forms only: whoever may fill none gets none."""
        return self.can_edit or (self.can_create and not self.create_flow_endpoint)
