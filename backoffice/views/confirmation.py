"""Browser side of the confirmation round-trip (Art.13–15) and the monthly-cycle downloads.

Mixed into the Flask-Admin views of ``backoffice/views/cycle.py``:

- ``ConfirmationPages`` (on ``ConfirmationFormView``): the answer page where a sales unit's
  collector answers every overdue line of its 逾期账款确认表 and submits it; finance's routing
  page (confirm or change each line's route, Art.15) and its "return for correction" action;
  the form's PDF.
- ``ReportDownloads`` / ``StatementDownloads``: the unit report (逾期账款报表, PDF and XLSX) and
  the customer statement (对账单, PDF).

The rules themselves live in ``backoffice.services.confirmation``; these pages only collect
input, call it, and show its ``ConfirmationError`` messages next to the line they concern.
Every endpoint checks the permission table and the row scope (a row outside the user's scope
answers 404); every POST carries the CSRF token (Flask-WTF's global ``CSRFProtect``).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.base import local_today
from backoffice.models.monthly import (
    ConfirmationForm,
    ConfirmationLine,
    ConfirmationLinePart,
    FormStatus,
    OverdueReason,
    ReasonClass,
    Route,
)
from backoffice.permissions import Action, can
from backoffice.services import annex5, audit
from backoffice.services import confirmation as conf
from backoffice.services import confirmation_bulk as bulk_svc
from backoffice.services.balance_dispute import DebtorAnswer, debtor_answers
from backoffice.services.confirmation_pdf import answered_form_pdf
from backoffice.views.base import attachment, deny
from backoffice.views.cycle_files import PDF, send_stored  # noqa: F401  (re-exported)

ANSWER_FIELDS = (
    "reason_class",
    "sub_reason_id",
    "estimated_recoverable",
    "expected_date",
    "comment",
)


_today = local_today


LINK = "btn btn-sm btn-link"


def _link(href: str, text: Any, css: str = "btn btn-sm btn-outline-primary") -> Markup:
    return Markup('<a class="{} mr-1" href="{}">{}</a>').format(css, href, text)


def split_parts(form: ConfirmationForm) -> dict[int, list[ConfirmationLinePart]]:
    """Art.15 (3): the parts of the form's split lines, by line id."""
    rows = db.session.scalars(
        select(ConfirmationLinePart)
        .join(ConfirmationLine, ConfirmationLine.id == ConfirmationLinePart.line_id)
        .where(ConfirmationLine.form_id == form.id)
        .order_by(ConfirmationLinePart.line_id, ConfirmationLinePart.reason_class)
    )
    parts: dict[int, list[ConfirmationLinePart]] = {}
    for part in rows:
        parts.setdefault(part.line_id, []).append(part)
    return parts


# ---------------------------------------------------------------------------------------------
# Confirmation form


def form_links(view, context, model: ConfirmationForm, name) -> Markup:
    """The list/details cell: the status, then the pages this user may open for the form."""
    parts: list[Any] = [model.status.label]
    if can(current_user, "confirmation_form", Action.ANSWER) and model.status in conf.ANSWERABLE:
        parts.append(_link(url_for(".answer_view", form_id=model.id), _("Answer")))
    elif can(current_user, "confirmation_form", Action.VIEW):
        parts.append(_link(url_for(".answer_view", form_id=model.id), _("Answers"), LINK))
    if can(current_user, "confirmation_form", Action.ROUTE) and model.status in (
        FormStatus.SUBMITTED,
        FormStatus.ROUTED,
    ):
        label = _("Route") if model.status is FormStatus.SUBMITTED else _("Routing")
        parts.append(_link(url_for(".route_view", form_id=model.id), label))
    if model.pdf_key and can(current_user, "confirmation_form", Action.DOWNLOAD):
        parts.append(_link(url_for(".download_view", form_id=model.id), "PDF", LINK))
    return Markup(" ").join(parts)


def _values_of(line: ConfirmationLine, debtor: DebtorAnswer | None = None) -> dict[str, str]:
    """A line's stored answer as the strings the inputs show; an unanswered line starts from
    the debtor's own answer to its balance confirmation (issue 15), if it gave one."""
    if line.reason_class is None and not line.comment and debtor is not None:
        klass = debtor.reason_class()
        return {
            "reason_class": klass.value if klass else "",
            "sub_reason_id": "",
            "estimated_recoverable": "",
            "expected_date": "",
            "comment": debtor.comment(),
        }
    return {
        "reason_class": line.reason_class.value if line.reason_class else "",
        "sub_reason_id": str(line.sub_reason_id or ""),
        "estimated_recoverable": (
            "" if line.estimated_recoverable is None else f"{line.estimated_recoverable:.2f}"
        ),
        "expected_date": line.expected_date.isoformat() if line.expected_date else "",
        "comment": line.comment or "",
    }


def _posted_values(line_id: int) -> dict[str, str]:
    return {f: (request.form.get(f"l{line_id}.{f}") or "").strip() for f in ANSWER_FIELDS}


class ConfirmationPages:
    """Answer, return, route and download endpoints for ``ConfirmationFormView``."""

    column_formatters = {"status": form_links}
    column_formatters_detail = {"status": form_links}

    def _require(self, action: Action) -> None:
        if not can(current_user, "confirmation_form", action):
            deny("confirmation_form", action)

    def _form(self, form_id: int) -> ConfirmationForm:
        return self.get_one(str(form_id))  # scoped: 404 outside the user's units

    # -- answer (Art.13–14) ----------------------------------------------------------------

    @expose("/answer/<int:form_id>", methods=("GET", "POST"))
    def answer_view(self, form_id: int):
        """The unit's answers: GET shows the lines (read-only unless answerable by the user);
        POST saves (``op=save``), answers the ticked lines at once (``op=apply``, all or
        nothing, see ``_apply_bulk``), or saves and submits (``op=submit``). On save, valid
        lines are saved even when others are refused; the refused ones show their error and
        keep what was typed."""
        self._require(Action.VIEW)
        if request.method == "POST":
            self._require(Action.ANSWER)
        form = self._form(form_id)
        lines = self._lines(form)
        if request.method == "GET":
            return self._answer_page(form, lines)

        if form.status not in conf.ANSWERABLE:
            # Art.14: a submitted form changes only after finance returns it.
            audit.record_now(
                AuditAction.REFUSED, entity="confirmation_form", entity_id=form.id,
                detail="answer after submission",
            )  # fmt: skip
            flash(
                _("This form is submitted; finance must return it before it can change."), "error"
            )
            return self._answer_page(form, lines, status=409)

        op = request.form.get("op", "save")
        values = {line.id: _posted_values(line.id) for line in lines}
        if op == "apply":
            return self._apply_bulk(form, lines, values)
        errors = self._save_lines(lines, values)
        db.session.commit()  # the valid lines are kept either way
        if errors:
            flash(_("%(n)s line(s) could not be saved; see below.", n=len(errors)), "error")
            return self._answer_page(form, lines, values=values, errors=errors, status=400)
        if op == "submit":
            try:
                conf.submit(db.session, form, current_user.id, _today())
            except conf.ConfirmationError as exc:
                db.session.rollback()
                flash(_("Not submitted: %(reason)s", reason=str(exc)), "error")
                return self._answer_page(form, self._lines(form), status=400)
            db.session.commit()
            flash(_("Submitted. Finance will route the lines."), "success")
        else:
            flash(_("Saved."), "success")
        return redirect(url_for(".answer_view", form_id=form.id), code=303)

    def _save_lines(self, lines, values: dict[int, dict[str, str]]) -> dict[int, str]:
        """Answer each line from what was typed on it; returns the refused lines' reasons."""
        errors: dict[int, str] = {}
        for line in lines:
            given = values[line.id]
            if not any(given[f] for f in ANSWER_FIELDS if f != "comment"):
                if line.reason_class is not None or given["comment"]:
                    errors[line.id] = _("Fill in the answer completely.")
                continue  # not answered yet
            try:
                conf.answer_line(db.session, line, conf.parse_answer(given))
            except conf.ConfirmationError as exc:
                errors[line.id] = str(exc)
        return errors

    def _apply_bulk(self, form, lines, values: dict[int, dict[str, str]]):
        """Answer the ticked lines with the shared values, each with its own amount
        (``confirmation_bulk``), and save the other lines as typed. All or nothing: if any
        line is refused nothing is saved, and each refused line says why, by document number."""
        selected = {int(i) for i in request.form.getlist("selected") if i.isdigit()}
        bulk = bulk_svc.Bulk(
            **{f: (request.form.get(f"bulk.{f}") or "").strip() for f in bulk_svc.SHARED},
            amount=(request.form.get("bulk.estimated_recoverable") or "").strip(),
            amount_mode=(request.form.get("bulk.amount_mode") or "").strip(),
        )
        kept = {"values": values, "bulk": bulk, "selected": selected}
        errors: dict[int, str] = {}
        try:
            answered = bulk_svc.answer_selected(db.session, form, lines, selected, bulk, values)
        except bulk_svc.BulkRefused as exc:
            errors.update(exc.errors)
            answered = 0
        except conf.ConfirmationError as exc:
            db.session.rollback()
            flash(_("Nothing saved: %(reason)s", reason=str(exc)), "error")
            return self._answer_page(form, self._lines(form), **kept, status=400)
        errors.update(self._save_lines([ln for ln in lines if ln.id not in selected], values))
        if errors:
            docs = [ln.receivable.doc_no for ln in lines if ln.id in errors]
            db.session.rollback()  # all or nothing: no line of this submit is saved
            flash(
                _(
                    "Nothing saved: %(n)s line(s) refused (%(docs)s); see below.",
                    n=len(errors),
                    docs="、".join(docs),
                ),
                "error",
            )
            return self._answer_page(form, self._lines(form), errors=errors, **kept, status=400)
        db.session.commit()
        flash(_("%(n)s line(s) answered at once.", n=answered), "success")
        return redirect(url_for(".answer_view", form_id=form.id), code=303)

    def _lines(self, form: ConfirmationForm) -> list[ConfirmationLine]:
        return list(
            db.session.scalars(
                select(ConfirmationLine)
                .where(ConfirmationLine.form_id == form.id)
                .order_by(ConfirmationLine.customer_id, ConfirmationLine.id)
            )
        )

    def _answer_page(
        self, form, lines, values=None, errors=None, bulk=None, selected=None, status: int = 200
    ):
        previous = conf.previous_answers(db.session, form)
        # Art.14 (issue 15): the collector starts from the debtor's own answer.
        debtor = debtor_answers(db.session, [line.receivable_id for line in lines])
        rows = []
        for line in lines:
            before = previous.get(line.receivable_id)
            rows.append(
                {
                    "line": line,
                    "debtor": debtor.get(line.receivable_id),
                    "values": (values or {}).get(line.id)
                    or _values_of(line, debtor.get(line.receivable_id)),
                    "error": (errors or {}).get(line.id),
                    "before": before,
                    "changed": conf.changed_fields(line, before) if line.reason_class else set(),
                }
            )
        reasons = list(
            db.session.scalars(
                select(OverdueReason)
                .where(OverdueReason.active.is_(True))
                .order_by(OverdueReason.reason_class, OverdueReason.id)
            )
        )
        editable = (
            can(current_user, "confirmation_form", Action.ANSWER) and form.status in conf.ANSWERABLE
        )
        page = self.render(
            "admin/confirmation_answer.html",
            form=form,
            rows=rows,
            reasons=reasons,
            classes=list(ReasonClass),
            bulk=bulk or bulk_svc.Bulk(),
            selected=selected or set(),
            editable=editable,
            answered=sum(1 for line in lines if line.reason_class is not None),
            may_route=can(current_user, "confirmation_form", Action.ROUTE),
            may_download=can(current_user, "confirmation_form", Action.DOWNLOAD),
        )
        return page, status

    # -- finance: return and route (Art.15) --------------------------------------------------

    @expose("/return/<int:form_id>", methods=("POST",))
    def return_view(self, form_id: int):
        """Finance returns a submitted form for correction, saying why; it unlocks."""
        self._require(Action.ROUTE)
        form = self._form(form_id)
        try:
            conf.return_form(db.session, form, request.form.get("reason", ""))
        except conf.ConfirmationError as exc:
            db.session.rollback()
            flash(_("Not returned: %(reason)s", reason=str(exc)), "error")
            return self._route_page(form, status=400)
        db.session.commit()
        flash(_("Returned to the sales unit."), "success")
        return redirect(url_for(".route_view", form_id=form.id), code=303)

    @expose("/route/<int:form_id>", methods=("GET", "POST"))
    def route_view(self, form_id: int):
        """Each line's answer and proposed route; POST confirms the routing, with the routes
        finance changed (``route.<line id>``), and opens the follow-up tasks."""
        self._require(Action.VIEW)
        if request.method == "POST":
            self._require(Action.ROUTE)
        form = self._form(form_id)
        if request.method == "GET":
            return self._route_page(form)
        overrides: dict[int, Route] = {}
        for line in form.lines:
            raw = request.form.get(f"route.{line.id}") or ""
            if not raw:
                continue
            try:
                chosen = Route(raw)
            except ValueError:
                abort(400)
            if chosen is not line.proposed_route:
                overrides[line.id] = chosen
        try:
            opened = conf.route_form(db.session, form, current_user.id, overrides)
        except conf.ConfirmationError as exc:
            db.session.rollback()
            flash(_("Not routed: %(reason)s", reason=str(exc)), "error")
            return self._route_page(form, status=409)
        db.session.commit()
        flash(_("Routed: %(n)s follow-up task(s) opened.", n=opened), "success")
        return redirect(url_for(".route_view", form_id=form.id), code=303)

    def _route_page(self, form: ConfirmationForm, status: int = 200):
        may_route = can(current_user, "confirmation_form", Action.ROUTE)
        page = self.render(
            "admin/confirmation_route.html",
            form=form,
            lines=self._lines(form),
            routes=list(Route),
            may_route=may_route,
            routable=may_route and form.status is FormStatus.SUBMITTED,
            may_download=can(current_user, "confirmation_form", Action.DOWNLOAD),
            parts=split_parts(form),  # Art.15 (3): each split line's parts and routes
            annex5=annex5.TABLE,  # Art.15 (2): the collection methods table
        )
        return page, status

    # -- download --------------------------------------------------------------------------

    @expose("/download/<int:form_id>")
    def download_view(self, form_id: int):
        """The form's PDF (Annex 1) as 逾期账款确认表-<unit>-<period>.pdf (audited): as issued,
        or with the answers and routes once the unit has answered."""
        self._require(Action.DOWNLOAD)
        form = self._form(form_id)
        name = f"逾期账款确认表-{form.sales_unit.name}-{form.period}.pdf"
        answered = answered_form_pdf(form)
        if answered is None:
            return send_stored(form.pdf_key, name, PDF, "confirmation_form", form.id)
        audit.record(
            db.session,
            AuditAction.DOWNLOAD,
            entity="confirmation_form",
            entity_id=form.id,
            detail=name,
        )
        db.session.commit()
        return attachment(answered, name, PDF)
