"""The rules' settings that finance keeps on one page (清欠规则设置): which Art.3 charges the
overdue total includes, the large amount of Art.16 (2), and how many days before a due date
the collector is warned (the practice texts' 到期前预警).

``current`` reads them (falling back to each rule's default); ``save`` validates, writes the
``Setting`` rows that changed and audits each with its before and after. The rules read the
settings themselves (``charges.included_charges``, ``large_debts.large_amount``,
``predue.warning_days``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext
from sqlalchemy.orm import Session

from backoffice.models.audit import AuditAction
from backoffice.models.receivable import ChargeKind
from backoffice.models.setting import Setting
from backoffice.services import audit, balance_reminders, charges, large_debts, predue
from backoffice.services.amounts import read_amount


class SettingError(ValueError):
    """A value the rules refuse; the message says why (translated when raised)."""


@dataclass(frozen=True)
class RuleSettings:
    included: frozenset[ChargeKind]
    large_amount: Decimal
    warning_days: int
    # Issue 15: working days between reminders of an unanswered positive 询证函 (None: keep).
    reminder_days: int | None = None


def current(session: Session) -> RuleSettings:
    return RuleSettings(
        charges.included_charges(session),
        large_debts.large_amount(session),
        predue.warning_days(session),
        balance_reminders.interval_days(session),
    )


def parse(
    included: list[str], large_amount: str, warning_days: str, reminder_days: str | None = None
) -> RuleSettings:
    """The page's submitted values as settings, or ``SettingError`` saying what is wrong."""
    try:
        kinds = frozenset(ChargeKind(v) for v in included)
    except ValueError as exc:
        raise SettingError(gettext("unknown charge")) from exc
    try:
        amount = read_amount((large_amount or "").strip())
    except ValueError as exc:
        raise SettingError(gettext("large amount: %(reason)s", reason=str(exc))) from exc
    if amount is None or amount <= 0:
        raise SettingError(gettext("the large amount must be a positive amount"))
    raw = (warning_days or "").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= predue.MAX_WARNING_DAYS:
        raise SettingError(
            gettext(
                "days of warning before the due date must be a whole number from 1 to %(n)s",
                n=predue.MAX_WARNING_DAYS,
            )
        )
    warning = int(raw)
    reminder = None
    if reminder_days is not None:
        raw = reminder_days.strip()
        if not raw.isdigit() or not 1 <= int(raw) <= balance_reminders.MAX_INTERVAL:
            raise SettingError(
                gettext(
                    "working days between reminders must be a whole number from 1 to %(n)s",
                    n=balance_reminders.MAX_INTERVAL,
                )
            )
        reminder = int(raw)
    return RuleSettings(kinds, amount, warning, reminder)


def save(session: Session, new: RuleSettings) -> list[str]:
    """Write the settings that changed, each audited (UPDATE on ``setting``, before/after).
    Returns the changed keys. Adds to the session; the caller commits."""
    old = current(session)
    values = {
        # Art.3: which charges the overdue total counts
        charges.CHARGES_SETTING: (
            {k.value: k in old.included for k in ChargeKind},
            {k.value: k in new.included for k in ChargeKind},
        ),
        # Art.16 (2): debts from this amount involve the team from 3 months
        large_debts.LARGE_DEBT_SETTING: (str(old.large_amount), str(new.large_amount)),
        # The practice texts: warn this many days before a due date
        predue.WARNING_SETTING: (old.warning_days, new.warning_days),
    }
    if new.reminder_days is not None:
        # Issue 15: remind an unanswered positive 询证函 every this many working days
        values[balance_reminders.SETTING] = (old.reminder_days, new.reminder_days)
    changed = []
    for key, (before, after) in values.items():
        if before == after:
            continue
        row = session.get(Setting, key)
        if row is None:
            session.add(Setting(key=key, value=after))
        else:
            row.value = after
        audit.record(
            session,
            AuditAction.UPDATE,
            entity="setting",
            entity_id=key,
            before={"value": before},
            after={"value": after},
        )
        changed.append(key)
    return changed
