"""Holds on persons responsible for a loss (Art.26(1), (4)) and the register HR exports.

- Art.26(1): a person held responsible for a major loss (named under Art.26(1)) may not be
  promoted or transferred out of the unit until the loss is recovered or reduced.
- Art.26(4): a salesperson directly responsible for serious arrears (named under Art.26(4))
  may not resign.

The confirmation of a finding by 总裁办 places the holds (``accountability.confirm``). They lift
automatically, recorded with the time and reason, when the loss is recovered: a recovery
booked in the recourse ledger (``writeoff.record_recovery``) or payments received on the
receivables (``payments.allocate``) call ``lift_recovered``. An active hold also blocks the
person's deactivation (``handover.deactivation_blockers``).

The register (``register_rows``) lists the holds; other rules add their flags to it through
``FLAG_SOURCES`` (see there). Functions add to the session, callers commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.base import utcnow
from backoffice.models.user import User
from backoffice.models.writeoff import (
    AccountabilityFinding,
    AccountabilityHold,
    HoldKind,
    PartyBasis,
)
from backoffice.services import notify

#: Art.26: the article point of a named person → the hold it brings.
HOLD_OF_BASIS = {
    PartyBasis.MAJOR_LOSS: HoldKind.NO_PROMOTION,
    PartyBasis.SALESPERSON: HoldKind.NO_RESIGNATION,
}
AUTO_LIFT_REASON = "损失已追回，限制自动解除（第二十六条第一款）"


def place(session: Session, finding: AccountabilityFinding) -> list[AccountabilityHold]:
    """Art.26(1), (4): hold each user named under 26(1) or 26(4) while the loss is open.

    Idempotent (one hold per finding, user and kind); nothing is placed for a loss already
    recovered. Audited; the person is told.
    """
    from backoffice.services.accountability import link, unrecovered

    if unrecovered(session, finding) <= 0:
        return []
    placed = []
    have = {
        (h.user_id, h.kind)
        for h in session.scalars(
            select(AccountabilityHold).where(AccountabilityHold.finding_id == finding.id)
        )
    }
    for party in finding.parties:
        kind = HOLD_OF_BASIS.get(party.basis)
        if kind is None or party.user_id is None or (party.user_id, kind) in have:
            continue
        hold = AccountabilityHold(
            finding_id=finding.id, user_id=party.user_id, kind=kind, placed_at=utcnow()
        )
        session.add(hold)
        have.add((party.user_id, kind))
        placed.append(hold)
        notify.notify(
            session,
            [party.user_id],
            f"{finding}：{kind.label}",
            "在损失追回之前，此项限制有效；追回后自动解除。",
            link(finding),
            dedup_key=f"hold:{finding.id}:{party.user_id}:{kind.value}",
        )
    return placed


def lift_recovered(session: Session, customer_id: int | None) -> list[AccountabilityHold]:
    """Art.26(1): lift, recorded, every active hold of ``customer_id``'s findings whose loss is
    now recovered. Idempotent; a cheap look-up when the customer has no active hold (it runs
    on every payment allocation)."""
    return lift_recovered_many(session, [customer_id])


def lift_recovered_many(
    session: Session, customer_ids: Iterable[int | None]
) -> list[AccountabilityHold]:
    """``lift_recovered`` for several customers with one look-up (issue 13: an import's chunk
    of payments asks once, not once per payment)."""
    from backoffice.services.accountability import unrecovered

    ids = sorted({c for c in customer_ids if c is not None})
    if not ids:
        return []
    active = session.scalars(
        select(AccountabilityHold)
        .join(AccountabilityFinding, AccountabilityFinding.id == AccountabilityHold.finding_id)
        .where(
            AccountabilityFinding.customer_id.in_(ids),
            AccountabilityHold.lifted_at.is_(None),
        )
        .order_by(AccountabilityHold.id)
    ).all()
    lifted: list[AccountabilityHold] = []
    open_loss: dict[int, Decimal] = {}
    for hold in active:
        if hold.finding_id not in open_loss:
            open_loss[hold.finding_id] = unrecovered(session, hold.finding)
        if open_loss[hold.finding_id] > 0:
            continue
        # Recorded on the hold (time, reason, no person) and, by the flush, in the audit log.
        hold.lifted_at, hold.lift_reason = utcnow(), AUTO_LIFT_REASON
        notify.notify(
            session,
            [hold.user_id],
            f"{hold.kind.label} 已解除",
            AUTO_LIFT_REASON,
            dedup_key=f"hold:{hold.id}:lifted",
        )
        lifted.append(hold)
    return lifted


def active_holds(session: Session, user_id: int) -> list[AccountabilityHold]:
    """The holds in force on ``user_id`` (shown on the user record, block deactivation)."""
    return list(
        session.scalars(
            select(AccountabilityHold)
            .where(AccountabilityHold.user_id == user_id, AccountabilityHold.lifted_at.is_(None))
            .order_by(AccountabilityHold.id)
        )
    )


# -- the register ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterRow:
    """One line of the register: a person, what holds or flags them, since when, why."""

    person: User
    what: str
    basis: str
    source: str
    unrecovered: Decimal | None
    since: datetime
    lifted_at: datetime | None
    lift_reason: str | None


#: Other rules' flags on the register. Each source is ``f(session, active_only) -> rows`` of
#: ``RegisterRow``. Art.26(4) 2nd paragraph ("no commission, no year-end bonus" for a missed
#: year's targets) belongs here: the assessment module appends its source, e.g.
#: ``holds.FLAG_SOURCES.append(scorecards.register_flags)``, and the register page and its
#: XLSX show its rows beside the holds without further change.
FLAG_SOURCES: list[Callable[[Session, bool], Iterable[RegisterRow]]] = []


def hold_rows(session: Session, active_only: bool) -> list[RegisterRow]:
    from backoffice.services.accountability import unrecovered

    query = select(AccountabilityHold).order_by(AccountabilityHold.placed_at.desc())
    if active_only:
        query = query.where(AccountabilityHold.lifted_at.is_(None))
    rows = []
    for hold in session.scalars(query):
        basis = next(
            (p.basis for p in hold.finding.parties if HOLD_OF_BASIS.get(p.basis) is hold.kind),
            None,
        )
        rows.append(
            RegisterRow(
                person=hold.user,
                what=str(hold.kind.label),
                basis=str(basis.label) if basis is not None else "",
                source=str(hold.finding),
                unrecovered=unrecovered(session, hold.finding),
                since=hold.placed_at,
                lifted_at=hold.lifted_at,
                lift_reason=hold.lift_reason,
            )
        )
    return rows


def register_rows(session: Session, active_only: bool = True) -> list[RegisterRow]:
    """The register: every hold (in force, or all) and every flag of ``FLAG_SOURCES``."""
    # Art.26(4), 2nd paragraph: the assessment's missed-target flags add themselves on import.
    from backoffice.services import missed_target_flags  # noqa: F401

    rows = hold_rows(session, active_only)
    for source in FLAG_SOURCES:
        rows.extend(source(session, active_only))
    return rows
