"""The confirmation form's PDF (Annex 1, 逾期账款确认表; Art.12–15).

At issue the form goes out with the answer columns empty. Once the unit has answered
(Art.13–14) and finance has routed the lines (Art.15), the same form prints with the answers
and each line's route: ``answered_form_pdf`` renders it from the stored lines. The PDF stored
at issue is kept unchanged as the record of what was sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from backoffice.models.monthly import ConfirmationForm, FormStatus
from backoffice.services.monthly import month_close, parse_period
from backoffice.services.pdf import render_pdf


@dataclass(frozen=True)
class FormRow:
    """One printed line: the overdue document and, once given, the unit's answer."""

    customer_name: str
    receivable: Any
    outstanding: Decimal
    overdue_days: int
    reason: str = ""
    sub_reason: str = ""
    recoverable: Decimal | None = None
    expected_date: date | None = None
    route: str = ""


def issued_rows(lines: list[Any]) -> list[FormRow]:
    """Rows of a form being issued (``monthly.Line``): the answer columns left empty."""
    return [FormRow(x.customer_name, x.receivable, x.outstanding, x.overdue_days) for x in lines]


def answered_rows(form: ConfirmationForm) -> list[FormRow]:
    """Rows of a form with each line's answer and, once routed, its route."""
    lines = sorted(
        form.lines, key=lambda x: (x.customer.name, x.receivable.due_date, x.receivable.doc_no)
    )
    return [
        FormRow(
            line.customer.name,
            line.receivable,
            line.outstanding_at_close,
            line.overdue_days,
            reason=str(line.reason_class.label) if line.reason_class else "",
            sub_reason="；".join(
                s for s in (line.sub_reason.label if line.sub_reason else "", line.comment) if s
            ),
            recoverable=line.estimated_recoverable,
            expected_date=line.expected_date,
            route=str(line.route.label) if line.route else "",
        )
        for line in lines
    ]


def render_form(
    *,
    company: Any,
    unit: Any,
    period: str,
    issued_on: date,
    answer_due: date,
    rows: list[FormRow],
    routed: bool = False,
) -> bytes:
    """The form as PDF bytes (no side effects)."""
    total = sum((row.outstanding for row in rows), Decimal(0))
    return render_pdf(
        "confirmation_form.html",
        company=company,
        unit=unit,
        period=period,
        as_of=month_close(*parse_period(period)),
        issued_on=issued_on,
        answer_due=answer_due,
        lines=rows,
        total=total,
        routed=routed,
    )


def answered_form_pdf(form: ConfirmationForm) -> bytes | None:
    """The form with its answers (and routes), or None while no line is answered yet."""
    if not any(line.reason_class is not None for line in form.lines):
        return None
    return render_form(
        company=form.sales_unit.company,
        unit=form.sales_unit,
        period=form.period,
        issued_on=form.issued_on,
        answer_due=form.answer_due,
        rows=answered_rows(form),
        routed=form.status is FormStatus.ROUTED,
    )
