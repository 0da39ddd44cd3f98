"""The responsibility analysis of a loss (Art.18, 24–26): the accountability finding.

Every write-off (``writeoff.file``) and every case closed with a loss (``cases.close``, outcome
hard to collect with money still open) opens one finding. The division VP of the unit is named
at once with joint responsibility (Art.24) and told. The team (any member: team lead, finance,
legal, credit specialist; Art.6) names the units and persons responsible, each with personal or
unit responsibility and the article point that applies (Art.25, 26), and writes the facts and
the evidence; completing it closes the team's tasks (Art.18) and asks 总裁办 to confirm.
The confirmation places the holds of Art.26(1), (4) (``services/holds.py``).

``AccountabilityError`` carries the message for the user; functions add to the session, callers
commit. State changes are compare-and-set (``transitions.claim``).
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.models.base import utcnow
from backoffice.models.case import CaseOutcome, CaseReceivable, CollectionCase
from backoffice.models.notification import TaskKind
from backoffice.models.org import SalesUnit
from backoffice.models.receivable import Receivable
from backoffice.models.user import RoleName, User
from backoffice.models.writeoff import (
    AccountabilityFinding,
    FindingParty,
    PartyBasis,
    RecourseEntry,
    ResponsibilityKind,
    WriteOffApplication,
)
from backoffice.services import notify
from backoffice.services.transitions import claim
from backoffice.services.writeoff import WriteOffError

SUBJECT = "accountability_finding"
#: Art.6: the collection team: its lead and the finance, legal and credit specialists.
TEAM_ROLES = (RoleName.TEAM_LEAD, RoleName.FINANCE, RoleName.LEGAL, RoleName.CREDIT)
#: Art.18: 总裁办 (the credit specialist's office) and the leadership confirm a finding.
CONFIRMING_ROLES = (RoleName.CREDIT, RoleName.LEADER)


class AccountabilityError(WriteOffError):
    """A refused accountability step; the message is for the user."""


def link(finding: AccountabilityFinding) -> str:
    return f"/admin/accountability_finding/finding/{finding.id}/"


def team_members(session: Session) -> list[int]:
    """Art.6: the active users of the collection team."""
    return sorted({uid for role in TEAM_ROLES for uid in notify.users_with_role(session, role)})


def is_team_member(user: User) -> bool:
    return user.has_role(RoleName.ADMIN, *TEAM_ROLES)


# -- opening ---------------------------------------------------------------------------------


def _open(
    session: Session,
    *,
    company_id: int,
    sales_unit_id: int | None,
    customer_id: int | None,
    loss: Decimal,
    title: str,
    application_id: int | None = None,
    case_id: int | None = None,
) -> AccountabilityFinding:
    """Art.25: a finding for the loss; Art.24: the unit's VP named; Art.18: the team tasked."""
    finding = AccountabilityFinding(
        application_id=application_id,
        case_id=case_id,
        customer_id=customer_id,
        company_id=company_id,
        sales_unit_id=sales_unit_id,
        loss_amount=loss,
    )
    session.add(finding)
    session.flush()
    unit = session.get(SalesUnit, sales_unit_id) if sales_unit_id else None
    if unit is not None and unit.vp_id is not None:
        # Art.24: 谁主管谁负责: the division VP carries joint responsibility for the unit.
        finding.vp_id = unit.vp_id
        session.add(
            FindingParty(
                finding_id=finding.id,
                user_id=unit.vp_id,
                responsibility=ResponsibilityKind.INDIVIDUAL,
                basis=PartyBasis.JOINT_VP,
                note=unit.name,
            )
        )
        notify.notify(
            session,
            [unit.vp_id],
            f"{title}：您作为分管领导负连带责任（第二十四条）",
            "清欠小组将对此笔损失作出责任分析，认定结果由总裁办确认。",
            link(finding),
            dedup_key=f"finding:{finding.id}:vp",
        )
    # Art.18: the accountability follow-up goes to the team (and 总裁办 confirms it).
    for uid in team_members(session):
        notify.open_task(
            session,
            kind=TaskKind.ACCOUNTABILITY,
            title=f"{title}（个人或单位责任，第二十五条）",
            subject_type=SUBJECT,
            subject_id=finding.id,
            assignee_id=uid,
            link=link(finding),
            company_id=company_id,
            sales_unit_id=sales_unit_id,
        )
    return finding


def open_for_writeoff(session: Session, app: WriteOffApplication) -> AccountabilityFinding:
    """Art.25: every write-off gets a responsibility analysis (called by ``writeoff.file``)."""
    return _open(
        session,
        company_id=app.company_id,
        sales_unit_id=app.sales_unit_id,
        customer_id=app.customer_id,
        loss=app.amount,
        title=f"{app.app_no} 责任认定",
        application_id=app.id,
        case_id=app.case_id,
    )


def case_loss(session: Session, case: CollectionCase) -> Decimal:
    """What the case's receivables still owe or have written off (the loss, before any
    recovery booked on their write-offs)."""
    return session.scalar(
        select(func.coalesce(func.sum(Receivable.outstanding + Receivable.written_off_amount), 0))
        .join(CaseReceivable, CaseReceivable.receivable_id == Receivable.id)
        .where(CaseReceivable.case_id == case.id)
    ) or Decimal(0)


def open_for_closed_case(session: Session, case: CollectionCase) -> AccountabilityFinding | None:
    """Art.25: a case closed with a loss (hard to collect, money still open) gets a finding.

    Called from the closing path (``cases.close``). Idempotent: one finding per case opened
    this way; a case collected in full, or with nothing left open, gets none.
    """
    if case.outcome is not CaseOutcome.HARD_TO_COLLECT:
        return None
    loss = case_loss(session, case)
    if loss <= 0:
        return None
    existing = session.scalar(
        select(AccountabilityFinding.id).where(
            AccountabilityFinding.case_id == case.id,
            AccountabilityFinding.application_id.is_(None),
        )
    )
    if existing is not None:
        return None
    return _open(
        session,
        company_id=case.company_id,
        sales_unit_id=case.sales_unit_id,
        customer_id=case.customer_id,
        loss=loss,
        title=f"{case.case_no} 结案损失责任认定",
        case_id=case.id,
    )


def unrecovered(session: Session, finding: AccountabilityFinding) -> Decimal:
    """The part of the finding's loss not yet recovered (Art.26(1): 未追回或减少损失前).

    A write-off: written off less the recoveries of its recourse entry (Art.18). A closed case:
    what its receivables still owe or had written off, less the recoveries on those
    write-offs; payments received lower it.
    """
    recovered_on_writeoffs = select(func.coalesce(func.sum(RecourseEntry.recovered), 0))
    if finding.application_id is not None:
        entry = session.scalar(
            select(RecourseEntry).where(RecourseEntry.application_id == finding.application_id)
        )
        if entry is None:
            return finding.loss_amount or Decimal(0)
        return max(entry.written_off - entry.recovered, Decimal(0))
    if finding.case_id is None:
        return finding.loss_amount or Decimal(0)
    case = session.get(CollectionCase, finding.case_id)
    recovered = session.scalar(
        recovered_on_writeoffs.join(
            WriteOffApplication, WriteOffApplication.id == RecourseEntry.application_id
        ).where(WriteOffApplication.case_id == case.id)
    )
    return max(case_loss(session, case) - (recovered or 0), Decimal(0))


# -- the team's analysis ---------------------------------------------------------------------


def _editable(session: Session, finding: AccountabilityFinding) -> None:
    claim(session, finding, "completed_at")
    if finding.completed_at is not None:
        raise AccountabilityError(gettext("This finding is completed."))


def name_party(
    session: Session,
    finding: AccountabilityFinding,
    *,
    user_id: int | None,
    name: str | None,
    responsibility: ResponsibilityKind | str | None,
    basis: PartyBasis | str | None,
    note: str | None = None,
) -> FindingParty:
    """Art.25, 26: name a person (a user) or any unit or person (by name) with personal or
    unit responsibility and the article point that applies. Refused on a completed finding
    (compare-and-set), without a person or a name, or named twice under the same point."""
    _editable(session, finding)
    name = (name or "").strip()[:200] or None
    if user_id is None and name is None:
        raise AccountabilityError(gettext("Choose a user or write the name of the unit or person."))
    if user_id is not None and session.get(User, user_id) is None:
        raise AccountabilityError(gettext("Choose a user or write the name of the unit or person."))
    try:
        responsibility = ResponsibilityKind(responsibility or "")
        basis = PartyBasis(basis or "")
    except ValueError as exc:
        raise AccountabilityError(
            gettext("Choose personal or unit responsibility and the article point.")
        ) from exc
    for party in finding.parties:
        if party.basis is basis and (party.user_id, party.name) == (user_id, name):
            raise AccountabilityError(gettext("Already named under this article point."))
    party = FindingParty(
        finding_id=finding.id,
        user_id=user_id,
        name=None if user_id is not None else name,
        responsibility=responsibility,
        basis=basis,
        note=(note or "").strip() or None,
    )
    session.add(party)
    finding.parties.append(party)
    return party


def remove_party(session: Session, finding: AccountabilityFinding, party: FindingParty) -> None:
    """Take a party off an open finding; the VP named by Art.24 stays."""
    _editable(session, finding)
    if party.finding_id != finding.id or party.basis is PartyBasis.JOINT_VP:
        raise AccountabilityError(gettext("The division VP stays named (Art.24)."))
    finding.parties.remove(party)
    session.delete(party)


def record_finding(
    session: Session,
    finding: AccountabilityFinding,
    *,
    kind: ResponsibilityKind | str | None,
    people: str | None,
    text: str | None,
    evidence: str | None = None,
    completed: bool = False,
    user: User | None = None,
) -> None:
    """Save the team's analysis; with ``completed``, complete it, close the team's tasks and
    ask 总裁办 to confirm.

    Compare-and-set on ``completed_at``: a save racing the completion loses with
    ``StaleStateError``. A completed finding, a missing kind, a finding with neither people
    nor text, and a completion without the facts and a named person are refused.
    """
    _editable(session, finding)
    try:
        # Art.25: the team separates individual from unit responsibility.
        kind = ResponsibilityKind(kind or "")
    except ValueError as exc:
        raise AccountabilityError(gettext("Choose individual or unit responsibility.")) from exc
    people, text = (people or "").strip(), (text or "").strip()
    named = [p for p in finding.parties if p.basis is not PartyBasis.JOINT_VP]
    if not people and not text:
        raise AccountabilityError(
            gettext("An empty finding cannot be saved: name the people responsible or write it.")
        )
    if completed and (not (people or named) or not text):
        raise AccountabilityError(
            gettext("Name the people responsible and write the finding before completing it.")
        )
    finding.kind, finding.people, finding.finding = kind, people or None, text or None
    if evidence is not None:
        finding.evidence = evidence.strip() or None
    if completed:
        finding.completed_at = utcnow()
        finding.completed_by_id = user.id if user is not None else None
        # Art.18: the finding's completion closes the team's tasks ...
        notify.close_tasks(
            session, kind=TaskKind.ACCOUNTABILITY, subject_type=SUBJECT, subject_id=finding.id
        )
        # ... and 总裁办 confirms it (落实责任追究).
        for uid in notify.users_with_role(session, RoleName.CREDIT):
            notify.open_task(
                session,
                kind=TaskKind.CONFIRM_FINDING,
                title=f"{finding} 待总裁办确认",
                subject_type=SUBJECT,
                subject_id=finding.id,
                assignee_id=uid,
                link=link(finding),
                company_id=finding.company_id,
                sales_unit_id=finding.sales_unit_id,
            )


def confirm(
    session: Session, finding: AccountabilityFinding, user: User, comment: str | None
) -> None:
    """Art.18: 总裁办 (or the leadership) confirms a completed finding; it then places the
    holds of Art.26(1), (4) on the persons named. Refused before completion, twice (compare-
    and-set), by someone outside 总裁办 and the leadership, or by the person who completed it."""
    from backoffice.services import holds

    claim(session, finding, "completed_at", "confirmed_at")
    if not user.has_role(*CONFIRMING_ROLES):
        raise AccountabilityError(gettext("Only 总裁办 or the leadership confirms a finding."))
    if finding.completed_at is None:
        raise AccountabilityError(gettext("The team completes the finding before it is confirmed."))
    if finding.confirmed_at is not None:
        raise AccountabilityError(gettext("This finding is already confirmed."))
    if finding.completed_by_id == user.id:
        raise AccountabilityError(
            gettext("The person who completed the finding cannot confirm it.")
        )
    finding.confirmed_at, finding.confirmed_by_id = utcnow(), user.id
    finding.confirm_comment = (comment or "").strip() or None
    notify.close_tasks(
        session, kind=TaskKind.CONFIRM_FINDING, subject_type=SUBJECT, subject_id=finding.id
    )
    holds.place(session, finding)
    named = {p.user_id for p in finding.parties if p.user_id is not None}
    notify.notify(
        session,
        named,
        f"{finding} 已由总裁办确认",
        "责任认定已确认；相关管理措施与限制将按规定执行。",
        link(finding),
        dedup_key=f"finding:{finding.id}:confirmed",
    )


def findings_of(session: Session, user: User) -> list[AccountabilityFinding]:
    """Art.24: the findings that name ``user`` (as VP or as a party), newest first."""
    named = select(FindingParty.finding_id).where(FindingParty.user_id == user.id)
    return list(
        session.scalars(
            select(AccountabilityFinding)
            .where((AccountabilityFinding.vp_id == user.id) | AccountabilityFinding.id.in_(named))
            .order_by(AccountabilityFinding.id.desc())
        )
    )
