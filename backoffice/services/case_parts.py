"""The parts of a case (actions, promises, plans and instalments, collateral, litigation, costs,
members, the checklist) change only while the case is open (Art.21), whichever page changes
them. The case file's forms check it before adding a part; Flask-Admin's generic forms of the
parts (``views/cases.py``) call ``require_open`` on every create, edit and delete.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext

from backoffice.models.case import CollectionCase, RepaymentPlan
from backoffice.services.cases import OPEN, CaseError


def case_ids_of(session: Any, part: Any) -> set[int]:
    """The case a part belongs to, and before a form moves it (still unflushed), the case it
    leaves: its ``case_id`` column keeps the old value until the flush."""
    if hasattr(part, "plan_id"):  # an instalment belongs to its plan's case
        plan = part.plan
        if plan is None and part.plan_id is not None:
            plan = session.get(RepaymentPlan, part.plan_id)
        return {plan.case_id} if plan is not None else set()
    ids = {part.case_id} if part.case_id is not None else set()
    if part.case is not None and part.case.id is not None:
        ids.add(part.case.id)
    return ids


def require_open(session: Any, part: Any) -> None:
    """Art.21: refuse (``CaseError``) a change to a part of a closed or refused case. No side
    effects."""
    for case_id in case_ids_of(session, part):
        case = session.get(CollectionCase, case_id)
        if case is not None and case.status not in OPEN:
            raise CaseError(gettext("A case that is %(now)s cannot change.", now=case.status.label))
