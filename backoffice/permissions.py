"""Who may do what (SPEC §2): one declarative table, resource × action → roles, and row scope.

Every view, command and job asks ``can(user, resource, action)``; every query over scoped rows
goes through ``scope_filter``. The permission-matrix test reads the same ``PERMISSIONS`` table.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import and_, false, inspect, select, true

from backoffice.models.user import RoleName as R


class Action(StrEnum):
    VIEW = "view"
    CREATE = "create"
    EDIT = "edit"
    DELETE = "delete"
    EXPORT = "export"
    DOWNLOAD = "download"
    APPROVE = "approve"
    # Custom actions
    IMPORT = "import"
    RUN = "run"
    VERIFY = "verify"
    ANSWER = "answer"
    ROUTE = "route"
    APPLY = "apply"
    CLOSE = "close"
    FILE = "file"
    OPINION = "opinion"
    CREDIT = "credit"
    CONFIRM = "confirm"
    LIFT = "lift"
    SEND = "send"


ALL = frozenset(R)
NONE: frozenset[R] = frozenset()
STAFF = ALL - {R.COLLECTOR}  # everyone who sees every unit
READERS = ALL  # scoped rows are filtered separately
NO_COLLECTOR_NO_CREDIT = ALL - {R.COLLECTOR, R.CREDIT}


def _rule(
    view: frozenset[R] = READERS,
    create: frozenset[R] = frozenset({R.ADMIN}),
    edit: frozenset[R] = frozenset({R.ADMIN}),
    delete: frozenset[R] = frozenset({R.ADMIN}),
    export: frozenset[R] | None = None,
    **custom: frozenset[R],
) -> dict[Action, frozenset[R]]:
    """One resource's row of the table; export defaults to whoever may view."""
    rule = {
        Action.VIEW: frozenset(view),
        Action.CREATE: frozenset(create),
        Action.EDIT: frozenset(edit),
        Action.DELETE: frozenset(delete),
        Action.EXPORT: frozenset(view if export is None else export),
    }
    rule.update({Action(k): frozenset(v) for k, v in custom.items()})
    return rule


ADMIN = frozenset({R.ADMIN})
FIN = frozenset({R.ADMIN, R.FINANCE})
CASE_WORKERS = frozenset({R.ADMIN, R.TEAM_LEAD, R.LEGAL, R.COLLECTOR})
READ_ONLY = _rule(create=NONE, edit=NONE, delete=NONE)
LEADERSHIP = frozenset({R.ADMIN, R.LEADER, R.TEAM_LEAD, R.FINANCE, R.AUDITOR})
#: Art.6: the collection team (lead, finance, legal and credit specialists) owns a finding.
TEAM = frozenset({R.ADMIN, R.TEAM_LEAD, R.FINANCE, R.LEGAL, R.CREDIT})
#: Art.26: who reads the register of holds (HR's export: the administrator, 总裁办, leaders).
REGISTER = frozenset({R.ADMIN, R.LEADER, R.TEAM_LEAD, R.CREDIT, R.AUDITOR})
ASSESSORS = frozenset({R.ADMIN, R.LEADER})  # Art.28: the leadership group
ASSESSMENT_RUN = frozenset({R.ADMIN, R.LEADER, R.TEAM_LEAD})

PERMISSIONS: dict[str, dict[Action, frozenset[R]]] = {
    # Organisation and people
    "company": _rule(),
    "sales_unit": _rule(),
    "user": _rule(view={R.ADMIN, R.AUDITOR}),
    "role": _rule(view={R.ADMIN, R.AUDITOR}, create=NONE, edit=NONE, delete=NONE),
    # Ledger (§3.1)
    "customer": _rule(create=FIN, edit=FIN, credit={R.ADMIN, R.CREDIT}),
    "credit_event": _rule(create=NONE, edit=NONE, delete=NONE),
    "contract": _rule(create=FIN | {R.LEGAL}, edit=FIN | {R.LEGAL}),
    "receivable": _rule(create=FIN, edit=FIN, **{"import": FIN}),
    "payment": _rule(create=FIN, edit=FIN, **{"import": FIN}),
    "payment_allocation": READ_ONLY,
    "import_batch": _rule(view=FIN | {R.AUDITOR}, create=NONE, edit=NONE, delete=NONE),
    "column_mapping": _rule(view=FIN | {R.AUDITOR}, create=FIN, edit=FIN, delete=FIN),
    "setting": _rule(view={R.ADMIN, R.FINANCE, R.AUDITOR}, create=ADMIN, edit=ADMIN),
    # Assessment (Art.27-30): the team lead proposes bases, the leadership group sets the policy
    # and approves bases and results (Art.28); the team grades the debts it took over (Art.30).
    "target": _rule(
        view=STAFF,
        create={R.ADMIN, R.LEADER, R.TEAM_LEAD},
        edit={R.ADMIN, R.LEADER, R.TEAM_LEAD},
        delete=ADMIN,
        approve=ASSESSORS,
    ),
    "assessment_policy": _rule(view=STAFF, create=ASSESSORS, edit=ASSESSORS, approve=ASSESSORS),
    "debt_grade": _rule(
        view=STAFF, create=NONE, edit={R.ADMIN, R.TEAM_LEAD}, delete=NONE, run=ASSESSMENT_RUN
    ),
    "scorecard": _rule(
        view=LEADERSHIP,
        create=NONE,
        edit=ASSESSORS,  # amend the amounts with a comment (Art.28)
        delete=NONE,
        download=LEADERSHIP,
        run=ASSESSMENT_RUN,
        approve=ASSESSORS,
    ),
    "scorecard_line": _rule(view=LEADERSHIP, create=NONE, edit=NONE, delete=NONE),
    # Art.8: the cost ledger by unit; a collector sees their own units' rows only.
    "cost_ledger": _rule(view=LEADERSHIP | {R.COLLECTOR}, create=NONE, edit=NONE, delete=NONE),
    # Art.9: the month's plan, progress and results, reported to the leadership group
    "leadership_report": _rule(
        view=LEADERSHIP, create=NONE, edit=NONE, delete=NONE, download=LEADERSHIP
    ),
    # Monthly cycle (§3.2)
    "calendar_year": _rule(),
    "calendar_day": _rule(),
    "monthly_run": _rule(view=STAFF, create=NONE, edit=NONE, delete=NONE, run=FIN),
    # Art.12: finance (or an admin) sends a unit's report again, recorded like the first time
    "monthly_report": _rule(create=NONE, edit=NONE, delete=NONE, download=READERS, send=FIN),
    "confirmation_form": _rule(
        create=NONE,
        edit=NONE,
        delete=NONE,
        download=READERS,
        answer={R.ADMIN, R.COLLECTOR},
        route=FIN,
    ),
    "confirmation_line": _rule(create=NONE, edit=NONE, delete=NONE),
    "overdue_reason": _rule(create=FIN, edit=FIN, delete=FIN),
    "statement": _rule(create=NONE, edit=NONE, delete=NONE, download=READERS),
    # Art.12: each sending of a monthly report, recorded by the service (read-only)
    "report_dispatch": _rule(view=STAFF, create=NONE, edit=NONE, delete=NONE),
    # Art.15 (3): the parts finance split a line into (made on the routing page)
    "confirmation_line_part": _rule(create=NONE, edit=NONE, delete=NONE),
    # Art.3, Art.16 (2), the warning before due date: finance keeps the rules' settings
    "rule_setting": _rule(view=STAFF, create=NONE, edit={R.ADMIN, R.FINANCE}, delete=NONE),
    # The practice texts' warning before the due date: the list and its reminder letter
    "predue_warning": _rule(
        view={R.ADMIN, R.COLLECTOR, R.FINANCE, R.TEAM_LEAD, R.CREDIT, R.AUDITOR},
        create=NONE,
        edit=NONE,
        delete=NONE,
        download={R.ADMIN, R.COLLECTOR, R.FINANCE},
    ),
    "task": _rule(create=NONE, edit=NONE, delete=NONE),
    "notification": _rule(create=NONE, edit=NONE, delete=NONE),
    "job_run": _rule(
        view={R.ADMIN, R.FINANCE, R.AUDITOR}, create=NONE, edit=NONE, delete=NONE, run=FIN
    ),
    # Issue 15: the debtor's balance confirmation. Finance sends requests and 询证函 (create)
    # and revokes links (edit); the customer's collector resolves its disputes (close, own
    # units by row scope); the auditor reads the register, the replies and the letters.
    "balance_confirmation_request": _rule(
        view=STAFF | {R.COLLECTOR},
        create=FIN,
        edit=FIN,
        delete=NONE,
        download=READERS,
    ),
    "balance_confirmation_line": READ_ONLY,
    "balance_confirmation_access": _rule(
        view={R.ADMIN, R.FINANCE, R.AUDITOR}, create=NONE, edit=NONE, delete=NONE
    ),
    "balance_dispute": _rule(
        create=NONE,
        edit=NONE,
        delete=NONE,
        close={R.ADMIN, R.COLLECTOR, R.TEAM_LEAD, R.FINANCE},
    ),
    "balance_dispute_line": READ_ONLY,
    # The auditors' register per year (a page, not a table): those who review the year's
    # confirmations; a collector sees their own units' requests, as on the requests list.
    # Legal and credit have no part in the confirmations and are refused.
    "balance_confirmation_register": _rule(
        view=LEADERSHIP | {R.COLLECTOR}, create=NONE, edit=NONE, delete=NONE
    ),
    # Cases and evidence (§3.3–3.4)
    "collection_case": _rule(
        create={R.ADMIN, R.TEAM_LEAD},
        edit={R.ADMIN, R.TEAM_LEAD, R.LEGAL},
        delete=NONE,
        apply={R.ADMIN, R.COLLECTOR, R.TEAM_LEAD},
        approve={R.ADMIN, R.TEAM_LEAD},
        close={R.ADMIN, R.TEAM_LEAD},
    ),
    "case_member": _rule(
        create={R.ADMIN, R.TEAM_LEAD}, edit={R.ADMIN, R.TEAM_LEAD}, delete={R.ADMIN, R.TEAM_LEAD}
    ),
    "collection_action": _rule(create=CASE_WORKERS, edit=CASE_WORKERS),
    "payment_promise": _rule(create=CASE_WORKERS, edit=CASE_WORKERS),
    "repayment_plan": _rule(create=CASE_WORKERS, edit=CASE_WORKERS),
    "instalment": _rule(create=NONE, edit=NONE, delete=NONE),  # made with their plan
    # Art.23 (2): the steps are edits (CASE_WORKERS); booking the value realised is approved
    # by the team lead.
    "collateral": _rule(create=CASE_WORKERS, edit=CASE_WORKERS, approve={R.ADMIN, R.TEAM_LEAD}),
    "payment_in_kind": _rule(
        create=CASE_WORKERS, edit=CASE_WORKERS, approve={R.ADMIN, R.TEAM_LEAD}
    ),
    # Art.10 (4): the team proposes a lawsuit; the legal department approves it and files it.
    "litigation": _rule(
        create={R.ADMIN, R.LEGAL, R.TEAM_LEAD},
        edit={R.ADMIN, R.LEGAL, R.TEAM_LEAD},
        approve={R.ADMIN, R.LEGAL},
        file={R.ADMIN, R.LEGAL},
    ),
    # Art.19: the team asks; the named unit or person answers (the service checks who).
    "information_request": _rule(
        create={R.ADMIN, R.TEAM_LEAD, R.LEGAL}, edit=NONE, delete=NONE, answer=ALL
    ),
    # Art.23 (2): a customer's collection target and plan, set by the team or its collector.
    "customer_collection_plan": _rule(
        create={R.ADMIN, R.TEAM_LEAD, R.COLLECTOR}, edit=NONE, delete=NONE
    ),
    "case_cost": _rule(create=CASE_WORKERS | {R.FINANCE}, edit=CASE_WORKERS | {R.FINANCE}),
    "document_requirement": _rule(create={R.ADMIN, R.TEAM_LEAD}, edit={R.ADMIN, R.TEAM_LEAD}),
    # Art.17: the collector's reasons and proposed measures, submitted on their own page
    "case_submission": _rule(create={R.ADMIN, R.COLLECTOR}, edit=NONE, delete=NONE),
    # Art.16 (4): what a refused application leaves with the unit and the handler
    "refusal_consequence": _rule(create=NONE, edit=NONE, delete=NONE),
    "watch_list_entry": _rule(create=NONE, edit=NONE, delete=NONE),
    "evidence_document": _rule(
        create={R.ADMIN, R.LEGAL, R.COLLECTOR, R.TEAM_LEAD},
        edit=NONE,  # never overwritten: a new version is a new document
        delete={R.ADMIN, R.LEGAL},  # soft delete
        download=READERS,
        verify={R.ADMIN, R.AUDITOR, R.LEGAL},
    ),
    # Write-off (§3.5) and accountability (§3.7)
    "writeoff_application": _rule(
        create={R.ADMIN, R.COLLECTOR, R.TEAM_LEAD},
        edit={R.ADMIN, R.COLLECTOR, R.TEAM_LEAD},
        delete=NONE,
        download=READERS,
        approve={R.TEAM_LEAD, R.LEADER},
        opinion={R.FINANCE},
        file={R.CREDIT, R.FINANCE},
    ),
    "writeoff_item": READ_ONLY,
    "approval_decision": READ_ONLY,
    "material_requirement": _rule(),
    "recourse_entry": _rule(view=STAFF, create=NONE, edit=NONE, delete=NONE),
    "recovery": _rule(view=STAFF, create=FIN, edit=NONE, delete=NONE),
    # Art.18, 24-26: opened by the rules, analysed by the team, confirmed by 总裁办 or leaders.
    "accountability_finding": _rule(
        view=STAFF, create=NONE, edit=TEAM, delete=NONE, confirm={R.CREDIT, R.LEADER}
    ),
    "finding_party": _rule(view=STAFF, create=TEAM, edit=NONE, delete=TEAM),
    # Art.20: the team recommends, the leadership decides and lifts.
    "sanction": _rule(
        view=STAFF,
        create=TEAM,
        edit=NONE,
        delete=NONE,
        approve={R.LEADER},
        lift={R.LEADER},
    ),
    # Art.26(1), (4): placed by a confirmed finding, lifted by the recovery.
    "accountability_hold": _rule(view=REGISTER, create=NONE, edit=NONE, delete=NONE),
    "accountability_register": _rule(view=REGISTER, create=NONE, edit=NONE, delete=NONE),
    # Art.7: the hand-over of a leaver's items to a successor.
    "hand_over": _rule(
        view={R.ADMIN, R.LEADER, R.TEAM_LEAD, R.AUDITOR},
        create={R.ADMIN, R.LEADER},
        edit=NONE,
        delete=NONE,
    ),
    # Archive (§3.6) and audit (§3.8): nobody edits them, not even the admin.
    "archive_record": _rule(
        view=STAFF,
        create=NONE,
        edit=NONE,
        delete=NONE,
        download=STAFF,
        verify={R.ADMIN, R.AUDITOR},
        run=ADMIN,
    ),
    "archive_item": _rule(view=STAFF, create=NONE, edit=NONE, delete=NONE),
    "audit_log": _rule(
        view={R.ADMIN, R.AUDITOR}, create=NONE, edit=NONE, delete=NONE, verify={R.ADMIN, R.AUDITOR}
    ),
    # Customer e-mail (issue 14 §2): billing contacts and the "do not e-mail" exclusion on the
    # customer's e-mail page (collectors their units' customers), the dunning pause (Art.23),
    # the send log (read-only, written by the service) and the templates and schedule.
    "customer_contact": _rule(
        view={R.ADMIN, R.FINANCE, R.COLLECTOR, R.TEAM_LEAD, R.CREDIT, R.AUDITOR},
        create=NONE,
        edit={R.ADMIN, R.FINANCE, R.COLLECTOR},
        delete=NONE,
    ),
    "dunning_pause": _rule(
        view={R.ADMIN, R.FINANCE, R.COLLECTOR, R.TEAM_LEAD, R.CREDIT, R.AUDITOR},
        create={R.ADMIN, R.FINANCE, R.COLLECTOR, R.TEAM_LEAD},
        edit=NONE,
        delete=NONE,
    ),
    "customer_mail": _rule(
        view={R.ADMIN, R.FINANCE, R.AUDITOR, R.COLLECTOR}, create=NONE, edit=NONE, delete=NONE
    ),
    # The customer's timeline (客户往来记录): read by whoever keeps or reads customers' affairs.
    "customer_timeline": _rule(
        view={R.ADMIN, R.FINANCE, R.COLLECTOR, R.TEAM_LEAD, R.CREDIT, R.AUDITOR},
        create=NONE,
        edit=NONE,
        delete=NONE,
    ),
    "mail_setting": _rule(
        view={R.ADMIN, R.FINANCE, R.AUDITOR}, create=NONE, edit={R.ADMIN, R.FINANCE}, delete=NONE
    ),
    # ERP integration tokens (issue 14): the admin creates and revokes (edit); auditors look.
    "api_token": _rule(view={R.ADMIN, R.AUDITOR}, create=ADMIN, edit=ADMIN, delete=NONE),
}

# The auditor reads everything and changes nothing (SPEC §2): enforce it on the table itself.
_AUDITOR_MAY = {Action.VIEW, Action.EXPORT, Action.DOWNLOAD, Action.VERIFY}
for _rules in PERMISSIONS.values():
    for _action, _roles in list(_rules.items()):
        if R.AUDITOR in _roles and _action not in _AUDITOR_MAY:
            _rules[_action] = _roles - {R.AUDITOR}


def allowed_roles(resource: str, action: Action | str) -> frozenset[R]:
    return PERMISSIONS.get(resource, {}).get(Action(action), NONE)


def can(user: Any, resource: str, action: Action | str) -> bool:
    """True when one of the user's roles may take ``action`` on ``resource``."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.role_names & allowed_roles(resource, action))


# ---------------------------------------------------------------------------------------------
# Row scope


def unit_restricted(user: Any) -> bool:
    """A collector sees only their own sales units, unless another role of theirs sees all."""
    names = user.role_names
    return R.COLLECTOR in names and not (names - {R.COLLECTOR})


def resource_of(model: type) -> str:
    return getattr(model, "__resource__", None) or model.__tablename__


def scope_filter(model: type, user: Any) -> Any:
    """A SQL criterion limiting ``model``'s rows to what ``user`` may see."""
    if user is None or not getattr(user, "is_authenticated", False):
        return false()
    criteria = []
    owner = getattr(model, "__scope_owner__", None)
    if owner:
        criteria.append(getattr(model, owner) == user.id)
    parent = getattr(model, "__scope_parent__", None)
    if parent:
        rel = getattr(model, parent)
        target = rel.property.mapper.class_
        inner = scope_filter(target, user)
        if inner is not true():
            criteria.append(rel.has(inner))
    company_col = getattr(model, "__scope_company__", "company_id")
    if user.company_id is not None and company_col and hasattr(model, company_col):
        criteria.append(getattr(model, company_col) == user.company_id)
    unit_col = getattr(model, "__scope_unit__", "sales_unit_id")
    if unit_restricted(user) and unit_col and hasattr(model, unit_col):
        unit_ids = sorted(user.unit_ids)
        criteria.append(getattr(model, unit_col).in_(unit_ids) if unit_ids else false())
    return and_(*criteria) if criteria else true()


def in_scope(obj: Any, user: Any) -> bool:
    """Whether one loaded object is within the user's scope (same rules, in Python)."""
    from backoffice.extensions import db

    model = type(obj)
    pk = inspect(obj).identity
    if pk is None:
        return True
    pk_cols = inspect(model).primary_key
    stmt = select(pk_cols[0]).where(pk_cols[0] == pk[0]).where(scope_filter(model, user))
    return db.session.execute(stmt).first() is not None
