"""Every registered view against ``backoffice.governance``: no field a rule governs is reachable
through Flask-Admin's generic create, edit, ajax update or look-ups, and every model with a
state is in the table."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect
from wtforms.fields.core import UnboundField

from backoffice.governance import RULE_FIELDS, WORKFLOWS, generic_can
from backoffice.models import RoleName
from backoffice.permissions import Action, resource_of
from backoffice.views import REGISTRY
from backoffice.views.base import SecuredModelView
from tests import helpers

#: Columns that mean a record has a state some rule moves.
STATE_COLUMNS = {"status", "current_step", "sealed_at", "deleted_at", "completed_at", "done_at"}


class OneRole:
    is_authenticated = True

    def __init__(self, role: RoleName):
        self.role_names = frozenset({role})


def views(app) -> list[SecuredModelView]:
    return [v for v in app.extensions["admin"][0]._views if isinstance(v, SecuredModelView)]


def anyone_may(resource: str, action: Action) -> bool:
    return any(generic_can(OneRole(r), resource, action) for r in RoleName)


def fields(form_class) -> set[str]:
    return {n for n in dir(form_class) if isinstance(getattr(form_class, n, None), UnboundField)}


def test_no_governed_field_is_in_a_reachable_generic_form(app):
    """Each view's generic forms, editable list columns and ajax look-ups leave out every
    field a rule governs, wherever a role can reach them."""
    problems = []
    for view in views(app):
        res = view.resource
        mapper = inspect(view.model)
        rule = WORKFLOWS.get(res)
        if rule is not None:  # the view governs everything its workflow does not free
            pks = {c.key for c in mapper.primary_key}
            expected = {a.key for a in mapper.attrs} - rule.editable - pks
            assert view.governed == expected, res
        doors = [
            ("edit", view._edit_form_class, anyone_may(res, Action.EDIT)),
            (
                "create",
                view._create_form_class,
                anyone_may(res, Action.CREATE) and not view.create_flow_endpoint,
            ),
        ]
        for door, form_class, reachable in doors:
            leaked = fields(form_class) & view.governed
            if reachable and leaked:
                problems.append(f"{res} {door}: {sorted(leaked)}")
        for name in view.column_editable_list or ():
            if name in view.governed:
                problems.append(f"{res} ajax_update: {name}")
        for name in view._form_ajax_refs:
            if name in view.governed:
                problems.append(f"{res} ajax lookup: {name}")
    assert not problems, "\n".join(problems)


def test_every_model_with_a_state_is_governed():
    """A model with a state column is in WORKFLOWS, or that column is a rule's field."""
    missing = []
    for entry in REGISTRY:
        res = resource_of(entry.model)
        columns = {c.key for c in inspect(entry.model).column_attrs}
        states = columns & STATE_COLUMNS
        if states and res not in WORKFLOWS and not states <= RULE_FIELDS.get(res, set()):
            missing.append(f"{res}: {sorted(states)}")
    assert not missing, "\n".join(missing)


@pytest.fixture()
def admin_client(app, db):
    client = helpers.fresh_client(app)
    helpers.login(client, helpers.make_user("admin").username)
    return client, helpers.csrf_token(client, "/account")


def test_closed_doors_refuse_even_the_admin(app, db, admin_client):
    """On every view whose workflow shuts a generic door, the admin's POST there is 403."""
    client, token = admin_client
    tried = 0
    for view in views(app):
        rule = WORKFLOWS.get(view.resource)
        if rule is None:
            continue
        base = f"/admin/{view.endpoint}/"
        attempts = [(f"{base}action/", {"action": "delete", "rowid": "1"})]
        if not rule.editable:
            attempts += [
                (f"{base}edit/?id=1", {"note": "x"}),
                (f"{base}ajax/update/", {"list_form_pk": "1", "note": "x"}),
            ]
        if not rule.delete_via_service:
            attempts.append((f"{base}delete/", {"id": "1"}))
        if not rule.create_flow:
            attempts.append((f"{base}new/", {"note": "x"}))
        for url, data in attempts:
            status = client.post(url, data={**data, "csrf_token": token}).status_code
            expected = 302 if url.endswith("action/") and rule.delete_via_service else 403
            assert status == expected, url
            tried += 1
    assert tried > 50


def test_posting_a_governed_field_to_an_open_form_is_refused(app, db, admin_client):
    """Wherever the admin's generic edit is open, a POST naming a governed field is refused
    (303 back to the form, audited) before any row is touched."""
    from sqlalchemy import select

    from backoffice.models import AuditLog

    client, token = admin_client
    tried = 0
    for view in views(app):
        if not generic_can(OneRole(RoleName.ADMIN), view.resource, Action.EDIT):
            continue
        for name in sorted(view.governed):
            url = f"/admin/{view.endpoint}/edit/?id=0"
            response = client.post(url, data={name: "1", "csrf_token": token})
            assert response.status_code == 303, (view.endpoint, name)
            detail = db.session.scalar(
                select(AuditLog.detail).order_by(AuditLog.seq.desc()).limit(1)
            )
            assert detail == f"edit_view: governed field(s) {name}", (view.endpoint, name)
            tried += 1
    assert tried >= 10
