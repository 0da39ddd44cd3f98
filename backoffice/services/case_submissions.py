"""Art.17: with the documents, the collector (or the follow-up clerk acting for them) submits
"明确欠款原因及清收措施建议" — the reasons for the debt and the proposed measures — in structured
form, within the same 5 working days after the team's checklist (``case.documents_due``).

``parse`` turns the page's values into a ``Proposal``; ``submit`` checks it against the case and
records a ``CaseSubmission`` with its ``ProposedMeasure`` rows, marks it late when past the
deadline, retitles the documents task to what is still due (it closes when work starts) and
tells the case lead and the team leads. Raises ``SubmissionError`` with a message fit for the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.audit import AuditAction
from backoffice.models.case import ActionKind, CaseStatus, CollectionCase
from backoffice.models.case_rules import CaseSubmission, ProposedMeasure
from backoffice.models.monthly import OverdueReason, ReasonClass
from backoffice.models.user import RoleName
from backoffice.services import audit, notify
from backoffice.services.case_filing import retitle_documents_task

#: The stages in which the team waits for (or works with) the collector's submission.
OPEN_FOR_SUBMISSION = (CaseStatus.DOCUMENTS_REQUESTED, CaseStatus.IN_PROGRESS)
MAX_MEASURES = 10


class SubmissionError(ValueError):
    """A submission the rules refuse; the message says why (translated when raised)."""


@dataclass
class Measure:
    method: ActionKind
    planned_on: date
    detail: str


@dataclass
class Proposal:
    reason_class: ReasonClass
    sub_reason_id: int
    reason_detail: str
    measures: list[Measure] = field(default_factory=list)


def parse(data: dict[str, str], rows: list[dict[str, str]]) -> Proposal:
    """The page's values: ``reason_class``, ``sub_reason_id``, ``reason_detail`` and measure
    rows (``method``, ``planned_on``, ``detail``; blank rows skipped)."""
    try:
        reason_class = ReasonClass(data.get("reason_class") or "")
    except ValueError as exc:
        raise SubmissionError(gettext("choose a reason class: internal, external or both")) from exc
    try:
        sub_reason_id = int(data.get("sub_reason_id") or "")
    except ValueError as exc:
        raise SubmissionError(gettext("choose a specific reason")) from exc
    detail = (data.get("reason_detail") or "").strip()
    if len(detail) < 10:
        raise SubmissionError(gettext("explain the reasons for the debt (at least 10 characters)"))
    measures = []
    for n, row in enumerate(rows, 1):
        if not any((row.get(k) or "").strip() for k in ("method", "planned_on", "detail")):
            continue
        try:
            method = ActionKind(row.get("method") or "")
            planned = date.fromisoformat((row.get("planned_on") or "").strip())
        except ValueError as exc:
            raise SubmissionError(
                gettext("measure %(n)s: choose a method and a date (YYYY-MM-DD)", n=n)
            ) from exc
        text = (row.get("detail") or "").strip()
        if not text:
            raise SubmissionError(gettext("measure %(n)s: say what will be done", n=n))
        measures.append(Measure(method, planned, text))
    return Proposal(reason_class, sub_reason_id, detail, measures)


def submit(
    session: Session, case: CollectionCase, proposal: Proposal, user_id: int, today: date
) -> CaseSubmission:
    """Art.17: record the reasons and proposed measures for ``case``. On time when ``today`` is
    not after ``case.documents_due`` (5 working days after the checklist); a late one is kept
    and marked late. Adds to the session; the caller commits."""
    if case.status not in OPEN_FOR_SUBMISSION:
        raise SubmissionError(
            gettext("reasons and measures are submitted once the team has sent its checklist")
        )
    reason = session.get(OverdueReason, proposal.sub_reason_id)
    if reason is None or not reason.active:
        raise SubmissionError(gettext("unknown specific reason"))
    if proposal.reason_class is not ReasonClass.BOTH and reason.reason_class is not (
        proposal.reason_class
    ):
        raise SubmissionError(
            gettext(
                "“%(reason)s” is not a reason of class %(cls)s",
                reason=reason.label,
                cls=proposal.reason_class.label,
            )
        )
    if not proposal.measures:
        raise SubmissionError(gettext("propose at least one measure"))
    if len(proposal.measures) > MAX_MEASURES:
        raise SubmissionError(gettext("at most %(n)s measures", n=MAX_MEASURES))
    for n, measure in enumerate(proposal.measures, 1):
        if measure.planned_on < today:
            raise SubmissionError(gettext("measure %(n)s: the date is in the past", n=n))
    on_time = case.documents_due is None or today <= case.documents_due
    row = CaseSubmission(
        case_id=case.id,
        company_id=case.company_id,
        sales_unit_id=case.sales_unit_id,
        reason_class=proposal.reason_class,
        sub_reason_id=reason.id,
        reason_detail=proposal.reason_detail,
        due_on=case.documents_due,
        on_time=on_time,
        submitted_by_id=user_id,
    )
    row.measures = [
        ProposedMeasure(method=m.method, planned_on=m.planned_on, detail=m.detail)
        for m in proposal.measures
    ]
    session.add(row)
    session.flush()
    with audit.in_system_language():  # the auditor reads it in the audit log
        if case.documents_due is None:
            when = gettext("submitted")
        elif on_time:
            when = gettext("submitted on time (due %(due)s)", due=case.documents_due)
        else:
            when = gettext("submitted late (due %(due)s)", due=case.documents_due)
        detail = gettext(
            "Art.17: case %(case_no)s, reasons and %(n)s collection measure(s) %(when)s",
            case_no=case.case_no,
            n=len(row.measures),
            when=when,
        )
    audit.record(
        session,
        AuditAction.CREATE,
        entity="case_submission",
        entity_id=row.id,
        detail=detail,
    )
    # the documents task now says what is still due (documents, or nothing more)
    retitle_documents_task(session, case)
    readers = [case.lead_id, *notify.users_with_role(session, RoleName.TEAM_LEAD)]
    notify.notify(
        session,
        readers,
        f"案件 {case.case_no} 欠款原因及清收措施建议已提交" + ("" if on_time else "（逾期提交）"),
        f"{reason.label}：{proposal.reason_detail[:200]}",
        f"/admin/case_submission/details/?id={row.id}",
        dedup_key=f"case-submission:{row.id}",
    )
    return row


def awaiting(session: Session, scope) -> list[CollectionCase]:
    """Cases within ``scope`` (a criterion on CollectionCase) waiting for the collector's
    reasons and measures: checklist sent, none submitted yet; earliest deadline first."""
    submitted = select(CaseSubmission.case_id)
    return list(
        session.scalars(
            select(CollectionCase)
            .where(
                CollectionCase.status.in_(OPEN_FOR_SUBMISSION),
                CollectionCase.id.notin_(submitted),
                scope,
            )
            .order_by(CollectionCase.documents_due, CollectionCase.id)
        )
    )
