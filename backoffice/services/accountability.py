"""The accountability finding that follows a filed write-off (Art.24–26).

Filing a write-off opens one finding and a task for the team (``writeoff.file``). The team
records individual or unit responsibility, the people named and the finding; completing it
closes the tasks and freezes the finding. ``WriteOffError`` carries the message for the user;
functions add to the session, callers commit.
"""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy.orm import Session

from backoffice.models.base import utcnow
from backoffice.models.notification import TaskKind
from backoffice.models.writeoff import AccountabilityFinding, ResponsibilityKind
from backoffice.services import notify
from backoffice.services.transitions import claim
from backoffice.services.writeoff import WriteOffError


def record_finding(
    session: Session,
    finding: AccountabilityFinding,
    *,
    kind: ResponsibilityKind | str | None,
    people: str | None,
    text: str | None,
    completed: bool = False,
) -> None:
    """Save the team's finding; with ``completed``, complete it and close the team's tasks.

    Compare-and-set on ``completed_at``: a save racing the completion loses with
    ``StaleStateError``. A completed finding, a missing kind, a finding with neither people
    nor text, and a completion without both are refused with ``WriteOffError``.
    """
    claim(session, finding, "completed_at")
    if finding.completed_at is not None:
        raise WriteOffError(gettext("This finding is completed."))
    try:
        # Art.25: the team separates individual from unit responsibility.
        kind = ResponsibilityKind(kind or "")
    except ValueError as exc:
        raise WriteOffError(gettext("Choose individual or unit responsibility.")) from exc
    people, text = (people or "").strip(), (text or "").strip()
    if not people and not text:
        raise WriteOffError(
            gettext("An empty finding cannot be saved: name the people responsible or write it.")
        )
    if completed and (not people or not text):
        raise WriteOffError(
            gettext("Name the people responsible and write the finding before completing it.")
        )
    finding.kind, finding.people, finding.finding = kind, people or None, text or None
    if completed:
        finding.completed_at = utcnow()
        notify.close_tasks(
            session,
            kind=TaskKind.ACCOUNTABILITY,
            subject_type="accountability_finding",
            subject_id=finding.id,
        )
