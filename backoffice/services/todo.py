"""Each role's to-do, the first thing on its home page (issue 11, "Menus per role").

A to-do item is one count of work waiting for the user, with how many of them are late and a
link to where the work is done: the collector's confirmation forms to answer (Art.14), the
approvals waiting at a leader's own step (Art.18), the cases and documents due for the team lead
and legal (Art.16–17), failed imports and jobs for finance and the administrator, archives to
verify for the auditor (Art.22). Every count is limited to the user's row scope, only the
kinds of the user's roles are counted, and all of them are read in one SQL statement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, literal, or_, select, true

from backoffice.extensions import db
from backoffice.models.archive import ArchiveRecord
from backoffice.models.audit import AuditAction, AuditLog
from backoffice.models.base import utcnow
from backoffice.models.case import (
    CaseStatus,
    CollectionCase,
    DocumentRequirement,
    Instalment,
    RepaymentPlan,
)
from backoffice.models.job import JobRun, JobStatus
from backoffice.models.monthly import ConfirmationForm, FormStatus
from backoffice.models.notification import Notification, Task
from backoffice.models.org import SalesUnit
from backoffice.models.receivable import ImportBatch, ImportStatus
from backoffice.models.user import LeaderTitle, RoleName
from backoffice.models.writeoff import ApprovalStep, WriteOffApplication, WriteOffStatus
from backoffice.permissions import Action, can, scope_filter

#: How far back failed imports and jobs, and integrity alerts, stay on the to-do.
RECENT_DAYS = 7


@dataclass(frozen=True)
class TodoItem:
    key: str  # stable name (tests, the page's ``data-todo``)
    title: str
    count: int
    late: int
    link: str


def _recent(column: Any) -> Any:
    """``column`` within the last ``RECENT_DAYS`` days."""
    return column >= utcnow() - timedelta(days=RECENT_DAYS)


def _tally(*where: Any, late: Any = None, select_from: Any = None) -> Any:
    """One count of work: ``SELECT count(*) AS total, <late> AS late`` over the rows matching
    ``where``. ``late`` is the condition that makes a row late, ``True`` when every row is,
    or ``None`` when none ever is."""
    if late is True:
        late_count = func.count()
    elif late is None:
        late_count = literal(0)
    else:
        late_count = func.sum(case((late, 1), else_=0))
    stmt = select(func.count().label("total"), late_count.label("late"))
    if select_from is not None:
        stmt = stmt.select_from(select_from)
    return stmt.where(*where)


def _counter(query: Callable[[Any, date], Any]) -> Callable[[Any, date], tuple[int, int]]:
    """A count of one kind of work: called, it runs its own statement and returns (total,
    late); ``.query`` is the statement, so ``todo_items`` can read every kind in one."""

    def count(user: Any, today: date) -> tuple[int, int]:
        total, late = db.session.execute(query(user, today)).one()
        return int(total or 0), int(late or 0)

    count.query = query  # type: ignore[attr-defined]
    count.__doc__, count.__name__ = query.__doc__, query.__name__
    return count


# -- the items ---------------------------------------------------------------------------------


@_counter
def my_tasks(user: Any, today: date) -> Any:
    """Open tasks assigned to the user (Art.12–17 deadlines); late = past their due day."""
    return _tally(Task.assignee_id == user.id, Task.done_at.is_(None), late=Task.due_on < today)


@_counter
def unread_inbox(user: Any, today: date) -> Any:
    return _tally(Notification.user_id == user.id, Notification.read_at.is_(None))


@_counter
def forms_to_answer(user: Any, today: date) -> Any:
    """Art.14: the unit answers its confirmation form within 5 working days (and again when
    finance returns it)."""
    return _tally(
        ConfirmationForm.status.in_([FormStatus.ISSUED, FormStatus.RETURNED]),
        scope_filter(ConfirmationForm, user),
        late=ConfirmationForm.answer_due < today,
    )


@_counter
def forms_to_route(user: Any, today: date) -> Any:
    """Art.15: finance routes answered lines within 3 working days."""
    return _tally(
        ConfirmationForm.status == FormStatus.SUBMITTED,
        scope_filter(ConfirmationForm, user),
        late=ConfirmationForm.routing_due < today,
    )


def _my_steps(user: Any) -> Any:
    """Art.18: the approval steps this user signs, as ``writeoff.may_approve`` decides them:
    the team lead the collection team's review; the division VP the units they lead; the CFO
    and the president their own step."""
    steps = []
    if user.has_role(RoleName.TEAM_LEAD):
        steps.append(WriteOffApplication.current_step == ApprovalStep.TEAM_REVIEW)
    if user.has_role(RoleName.LEADER):
        title = user.leader_title
        if title is LeaderTitle.DIVISION_VP:
            led = select(SalesUnit.id).where(SalesUnit.vp_id == user.id)
            steps.append(
                and_(
                    WriteOffApplication.current_step == ApprovalStep.DIVISION_VP,
                    WriteOffApplication.sales_unit_id.in_(led),
                )
            )
        elif title is LeaderTitle.CFO:
            steps.append(WriteOffApplication.current_step == ApprovalStep.CFO)
        elif title is LeaderTitle.PRESIDENT:
            steps.append(WriteOffApplication.current_step == ApprovalStep.PRESIDENT)
    return or_(*steps) if steps else literal(False)


@_counter
def approvals_waiting(user: Any, today: date) -> Any:
    """Art.18: write-off applications waiting at the user's own step (never their own)."""
    return _tally(
        WriteOffApplication.status == WriteOffStatus.IN_APPROVAL,
        WriteOffApplication.applicant_id != user.id,
        _my_steps(user),
        scope_filter(WriteOffApplication, user),
    )


@_counter
def writeoffs_to_file(user: Any, today: date) -> Any:
    """Art.19: an approved write-off is filed on record by credit control and by finance."""
    mine = []
    if user.has_role(RoleName.FINANCE):
        mine.append(WriteOffApplication.filed_by_finance_id.is_(None))
    if user.has_role(RoleName.CREDIT):
        mine.append(WriteOffApplication.filed_by_credit_id.is_(None))
    return _tally(
        WriteOffApplication.status == WriteOffStatus.APPROVED,
        or_(*mine) if mine else literal(False),
        scope_filter(WriteOffApplication, user),
    )


@_counter
def cases_to_decide(user: Any, today: date) -> Any:
    """Art.16 (4): a collector's application for a case waits for the team's decision."""
    return _tally(CollectionCase.status == CaseStatus.APPLIED, scope_filter(CollectionCase, user))


@_counter
def documents_due(user: Any, today: date) -> Any:
    """Art.17: documents of a case's checklist still missing; late = past the 5 working days."""
    return _tally(
        DocumentRequirement.document_id.is_(None),
        CollectionCase.status.in_(
            [CaseStatus.FILED, CaseStatus.DOCUMENTS_REQUESTED, CaseStatus.IN_PROGRESS]
        ),
        scope_filter(CollectionCase, user),
        late=DocumentRequirement.due_on < today,
        select_from=DocumentRequirement.__table__.join(
            CollectionCase.__table__, CollectionCase.id == DocumentRequirement.case_id
        ),
    )


@_counter
def instalments_late(user: Any, today: date) -> Any:
    """Art.23: instalments of a repayment plan past due and not paid in full."""
    return _tally(
        Instalment.due_on < today,
        Instalment.paid_amount < Instalment.amount,
        CollectionCase.status != CaseStatus.CLOSED,
        scope_filter(CollectionCase, user),
        late=True,
        select_from=Instalment.__table__.join(
            RepaymentPlan.__table__, RepaymentPlan.id == Instalment.plan_id
        ).join(CollectionCase.__table__, CollectionCase.id == RepaymentPlan.case_id),
    )


@_counter
def imports_failed(user: Any, today: date) -> Any:
    """ERP imports of the last days that failed or were rejected for errors."""
    return _tally(
        ImportBatch.status.in_([ImportStatus.FAILED, ImportStatus.REJECTED]),
        _recent(ImportBatch.created_at),
        scope_filter(ImportBatch, user),
    )


@_counter
def jobs_failed(user: Any, today: date) -> Any:
    """Background jobs of the last days that failed (each can be re-run on the Jobs page)."""
    return _tally(JobRun.status == JobStatus.FAILED, _recent(JobRun.enqueued_at))


@_counter
def archives_to_verify(user: Any, today: date) -> Any:
    """Art.22: sealed archives, each checked against its signed manifest by the auditor."""
    return _tally(ArchiveRecord.sealed_at.is_not(None), scope_filter(ArchiveRecord, user))


@_counter
def integrity_alerts(user: Any, today: date) -> Any:
    """§3.8: integrity alerts (an archive or the audit chain that failed its check) of late."""
    return _tally(AuditLog.action == AuditAction.ALERT.value, _recent(AuditLog.at), late=True)


# -- which items, for whom -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    key: str
    title: Any
    counter: Callable[[Any, date], tuple[int, int]]
    endpoint: str
    roles: frozenset[RoleName]
    needs: tuple[str, Action]  # the permission that does the work (checked as well)


R = RoleName
_EVERYONE = frozenset(R)

#: In the order the home page shows them: the user's own work first.
KINDS: tuple[_Kind, ...] = (
    _Kind(
        "tasks", _l("My open tasks"), my_tasks, "#table-tasks", _EVERYONE, ("task", Action.VIEW)
    ),  # fmt: skip
    _Kind(
        "inbox",
        _l("Unread messages"),
        unread_inbox,
        "notification.index_view",
        _EVERYONE,
        ("notification", Action.VIEW),
    ),  # fmt: skip
    _Kind(
        "forms_to_answer",
        _l("Confirmation forms to answer"),
        forms_to_answer,
        "confirmation_form.index_view",
        frozenset({R.COLLECTOR}),
        ("confirmation_form", Action.ANSWER),
    ),  # fmt: skip
    _Kind(
        "forms_to_route",
        _l("Answered forms to route"),
        forms_to_route,
        "confirmation_form.index_view",
        frozenset({R.FINANCE}),
        ("confirmation_form", Action.ROUTE),
    ),  # fmt: skip
    _Kind(
        "approvals",
        _l("Write-offs waiting for my approval"),
        approvals_waiting,
        "writeoff_application.index_view",
        frozenset({R.LEADER, R.TEAM_LEAD}),
        ("writeoff_application", Action.APPROVE),
    ),  # fmt: skip
    _Kind(
        "writeoffs_to_file",
        _l("Approved write-offs to file"),
        writeoffs_to_file,
        "writeoff_application.index_view",
        frozenset({R.FINANCE, R.CREDIT}),
        ("writeoff_application", Action.FILE),
    ),  # fmt: skip
    _Kind(
        "cases_to_decide",
        _l("Case applications to decide"),
        cases_to_decide,
        "collection_case.index_view",
        frozenset({R.TEAM_LEAD}),
        ("collection_case", Action.APPROVE),
    ),  # fmt: skip
    _Kind(
        "documents_due",
        _l("Case documents missing"),
        documents_due,
        "collection_case.index_view",
        frozenset({R.TEAM_LEAD, R.LEGAL}),
        ("collection_case", Action.VIEW),
    ),  # fmt: skip
    _Kind(
        "instalments_late",
        _l("Instalments overdue"),
        instalments_late,
        "instalment.index_view",
        frozenset({R.TEAM_LEAD, R.COLLECTOR}),
        ("instalment", Action.VIEW),
    ),  # fmt: skip
    _Kind(
        "imports_failed",
        _l("Failed imports"),
        imports_failed,
        "import_batch.index_view",
        frozenset({R.FINANCE, R.ADMIN}),
        ("receivable", Action.IMPORT),
    ),  # fmt: skip
    _Kind(
        "jobs_failed",
        _l("Failed background jobs"),
        jobs_failed,
        "job_run.index_view",
        frozenset({R.FINANCE, R.ADMIN}),
        ("job_run", Action.RUN),
    ),  # fmt: skip
    _Kind(
        "archives",
        _l("Sealed archives to verify"),
        archives_to_verify,
        "archive_record.index_view",
        frozenset({R.AUDITOR}),
        ("archive_record", Action.VERIFY),
    ),  # fmt: skip
    _Kind(
        "alerts",
        _l("Integrity alerts"),
        integrity_alerts,
        "audit_log.index_view",
        frozenset({R.AUDITOR, R.ADMIN}),
        ("audit_log", Action.VERIFY),
    ),  # fmt: skip
)


def kinds_for(user: Any) -> list[_Kind]:
    """The to-do kinds of the user's roles that the permission table lets them work on."""
    names = user.role_names
    return [k for k in KINDS if names & k.roles and can(user, *k.needs)]


def todo_items(user: Any, today: date) -> list[TodoItem]:
    """The user's to-do: a count per kind of work of their roles, each shown even when nothing
    waits, so a role's home page always has the same shape. One statement for all of them:
    each kind's count is a one-row subquery of it."""
    kinds = kinds_for(user)
    if not kinds:
        return []
    parts = [kind.counter.query(user, today).subquery(f"todo_{i}") for i, kind in enumerate(kinds)]
    stmt = select(*[c for part in parts for c in part.c]).select_from(parts[0])
    for part in parts[1:]:
        stmt = stmt.join(part, true())  # one row each: an explicit join of single rows
    row = db.session.execute(stmt).one()
    items = []
    for i, kind in enumerate(kinds):
        count, late = int(row[2 * i] or 0), int(row[2 * i + 1] or 0)
        # ``src=todo`` tells the to-do's links from the menu's (the lists ignore it).
        anchor = kind.endpoint.startswith("#")
        link = kind.endpoint if anchor else url_for(kind.endpoint, src="todo")
        items.append(TodoItem(kind.key, str(kind.title), count, late, link))
    return items
