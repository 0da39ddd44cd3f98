"""Answering many lines of a confirmation form at once (Art.13–14; issue 11).

The collector ticks lines and fills in what they share: the reason class, the specific reason,
the expected collection date and the comment apply to every ticked line. The estimated
recoverable amount is each line's own, never one number copied onto every line:

- left blank: the amount the line already has (typed on the page or answered before), else
  the line's whole outstanding at close;
- ``percent``: that percentage of each line's own outstanding (rounded to the fen);
- ``amount``: that amount on each line, refused (naming the line) where it exceeds the
  line's outstanding.

All-or-nothing per submit: every ticked line is checked, each refusal names its line (the
document number) and says why, and if any line is refused the caller rolls back and nothing
is saved. Each line goes through ``confirmation.answer_line`` (the compare-and-set on the
form's status); money input through ``amounts.read_amount``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext
from sqlalchemy.orm import Session

from backoffice.models.base import CENT
from backoffice.models.monthly import ConfirmationForm, ConfirmationLine
from backoffice.services import confirmation as conf
from backoffice.services.amounts import read_amount
from backoffice.services.formatting import format_money
from backoffice.services.transitions import claim

SHARED = ("reason_class", "sub_reason_id", "expected_date", "comment")
AMOUNT_MODES = ("percent", "amount")
HUNDRED = Decimal(100)


@dataclass
class Bulk:
    """What the collector typed in the "answer many lines at once" box (strings, stripped)."""

    reason_class: str = ""
    sub_reason_id: str = ""
    expected_date: str = ""
    comment: str = ""
    amount: str = ""  # blank: each line's own amount, else its outstanding
    amount_mode: str = ""  # "percent" or "amount" when ``amount`` is given


class BulkRefused(conf.ConfirmationError):
    """Some ticked lines were refused; ``errors`` maps the line id to why (nothing is saved)."""

    def __init__(self, errors: dict[int, str], doc_nos: list[str]):
        super().__init__(", ".join(doc_nos))
        self.errors, self.doc_nos = errors, doc_nos


def _bulk_amount(bulk: Bulk) -> Decimal | None:
    """The typed bulk amount (a percentage or an amount), or None when blank."""
    raw = bulk.amount.strip()
    if not raw:
        return None
    if bulk.amount_mode not in AMOUNT_MODES:
        raise conf.ConfirmationError(
            gettext("say whether the estimated recoverable is a percentage or an amount")
        )
    if bulk.amount_mode == "percent":
        raw = raw.rstrip("%％").strip()
    try:
        value = read_amount(raw, allow_zero=True)
    except ValueError as exc:
        raise conf.ConfirmationError(
            gettext("estimated recoverable amount: %(reason)s", reason=str(exc))
        ) from exc
    if bulk.amount_mode == "percent" and value is not None and value > HUNDRED:
        raise conf.ConfirmationError(
            gettext("a percentage of the outstanding must be between 0 and 100")
        )
    return value


def line_amount(line: ConfirmationLine, typed: str, bulk: Bulk, value: Decimal | None) -> str:
    """The estimated recoverable amount for one ticked line, as text for ``parse_answer``."""
    outstanding = line.outstanding_at_close
    if value is None:  # blank: the line's own amount, else its whole outstanding
        if typed.strip():
            return typed.strip()
        own = line.estimated_recoverable
        return f"{own if own is not None else outstanding:.2f}"
    if bulk.amount_mode == "percent":
        return f"{(outstanding * value / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP):.2f}"
    if value > outstanding:  # one amount is never forced onto a line it does not fit
        raise conf.ConfirmationError(
            gettext(
                "the amount %(amount)s is more than this line's outstanding %(max)s",
                amount=format_money(value),
                max=format_money(outstanding),
            )
        )
    return f"{value:.2f}"


def answer_selected(
    session: Session,
    form: ConfirmationForm,
    lines: list[ConfirmationLine],
    selected: set[int],
    bulk: Bulk,
    typed: dict[int, dict[str, str]],
) -> int:
    """Art.13–14: answer every ticked line with the shared values and its own amount.

    ``typed`` holds what the page shows on each line (used where the bulk box is blank).
    Raises ``ConfirmationError`` for the box itself (nothing ticked, a bad amount, a locked
    form) and ``BulkRefused`` with every refused line; the caller then rolls back. Returns the
    number of lines answered."""
    claim(session, form, "status")
    if form.status not in conf.ANSWERABLE:
        raise conf.ConfirmationError(
            gettext("this form is submitted; finance must return it before changes")
        )
    chosen = [line for line in lines if line.id in selected]
    if not chosen:
        raise conf.ConfirmationError(gettext("tick the lines the answer is for"))
    value = _bulk_amount(bulk)
    shared = {f: getattr(bulk, f) for f in SHARED if getattr(bulk, f)}
    errors: dict[int, str] = {}
    for line in chosen:
        given = typed.get(line.id, {})
        data = {**given, **shared}
        try:
            data["estimated_recoverable"] = line_amount(
                line, given.get("estimated_recoverable", ""), bulk, value
            )
            conf.answer_line(session, line, conf.parse_answer(data))
        except conf.ConfirmationError as exc:
            errors[line.id] = str(exc)
    if errors:
        by_id = {line.id: line for line in chosen}
        raise BulkRefused(errors, [by_id[i].receivable.doc_no for i in errors])
    return len(chosen)
