"""Browser side of the bad-debt write-off (呆账核销, Art.18; SPEC §3.5).

Mixed into ``WriteOffApplicationView`` (``backoffice/views/writeoff.py``):

- the application form (Annex 3): customer, optionally its case, the receivables and amounts,
  the ground and the facts;
- the application page: the Annex 6 checklist of its ground (materials in or missing, upload
  links to the evidence pages), the missing-materials reason and committed date, finance's
  opinion, submission (and amendment and resubmission after a rejection);
- the approval chain team review → division VP → CFO → president: approve or reject with a
  comment, always through ``writeoff.decide``, so a skipped step, self-approval or a second
  decision is refused by the server whatever the browser sends;
- filing by the president's office (credit) and finance, then the recourse ledger (备查簿) with
  its recoveries and the accountability finding (Art.24–26);
- the Annex 3 PDF (呆账核销申请表).

The rules live in ``backoffice.services.writeoff``; these pages collect input, call it, and show
its ``WriteOffError`` messages. Every refusal is audited (``AuditAction.REFUSED``). Every
endpoint checks the permission table and the row scope (outside it: 404); every POST carries
the CSRF token (Flask-WTF's global ``CSRFProtect``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.writeoff import (
    AccountabilityFinding,
    RecourseEntry,
    WriteOffGround,
)
from backoffice.permissions import Action
from backoffice.services import accountability
from backoffice.services import writeoff as wo
from backoffice.services.amounts import read_amount
from backoffice.services.audit import SealedError
from backoffice.services.transitions import StaleStateError, claim
from backoffice.views.writeoff_apply import WriteOffApply
from backoffice.views.writeoff_page import (  # noqa: F401 - re-exported for the views
    RESOURCE,
    WriteOffPage,
    _today,
    app_no_link,
    application_link,
    application_link_of_entry,
    doc_type_label,
    materials_checklist,
    render_application_pdf,
)


class WriteOffFlow(WriteOffApply, WriteOffPage):
    """Application form, application page, decisions, filing, recourse, accountability, PDF
    (the form in ``writeoff_apply``, the page and PDF in ``writeoff_page``)."""

    column_formatters = {"app_no": app_no_link}
    column_formatters_detail = {"app_no": app_no_link}

    @expose("/app/<int:app_id>/amend", methods=("POST",))
    def amend_view(self, app_id: int):
        """The applicant amends a draft or a returned application: facts, ground, amounts,
        the reason materials are missing and the committed date (Art.18)."""
        self._require(Action.EDIT)
        app = self._app(app_id)
        try:
            # Compare-and-set: an amendment racing the submission loses (409), not lands.
            claim(db.session, app, "status", "round")
            if app.status not in wo.EDITABLE:
                raise wo.WriteOffError(_("Only a draft or a returned application can be amended."))
            if current_user.id != app.applicant_id:
                raise wo.WriteOffError(_("Only the applicant amends the application."))
            form = request.form
            facts = (form.get("facts") or "").strip()
            if not facts:
                raise wo.WriteOffError(_("State the facts and the responsibility (Art.18)."))
            try:
                ground = WriteOffGround(form.get("ground", ""))
            except ValueError as exc:
                raise wo.WriteOffError(_("Choose the ground of the write-off.")) from exc
            for item in app.items:
                raw = form.get(f"amount.{item.id}")
                if raw is None:
                    continue
                try:
                    amount = read_amount(raw)
                except ValueError as exc:
                    raise wo.WriteOffError(str(exc)) from exc
                if amount is None:
                    raise wo.WriteOffError(_("Enter a valid amount for each receivable."))
                if amount > item.receivable.outstanding:  # read_amount refused zero and below
                    raise wo.WriteOffError(
                        _(
                            "%(doc)s: the amount must be between 0 and the outstanding %(max)s",
                            doc=item.receivable.doc_no,
                            max=item.receivable.outstanding,
                        )
                    )
                item.amount = amount
            due_raw = (form.get("materials_due_on") or "").strip()
            try:
                due = date.fromisoformat(due_raw) if due_raw else None
            except ValueError as exc:
                raise wo.WriteOffError(_("Enter the committed date as YYYY-MM-DD.")) from exc
            app.facts, app.ground = facts, ground
            app.amount = sum((i.amount for i in app.items), Decimal(0))
            app.materials_missing_reason = (form.get("materials_missing_reason") or "").strip()
            app.materials_due_on = due
            db.session.commit()
        except (wo.WriteOffError, SealedError, StaleStateError) as exc:
            return self._refuse(app, "amend", exc, status=400)
        flash(_("Application saved."), "success")
        return redirect(url_for(".application_view", app_id=app.id), code=303)

    @expose("/app/<int:app_id>/opinion", methods=("POST",))
    def opinion_view(self, app_id: int):
        """Finance gives its opinion (Art.18: needed before an application with missing
        materials goes on). Overwrites an earlier opinion while the application is editable."""
        self._require(Action.OPINION)
        app = self._app(app_id)
        try:
            if app.status not in wo.EDITABLE:
                raise wo.WriteOffError(
                    _("The opinion is given before the application is submitted.")
                )
            wo.give_finance_opinion(app, current_user, request.form.get("opinion", ""))
            db.session.commit()
        except (wo.WriteOffError, SealedError, StaleStateError) as exc:
            return self._refuse(app, "opinion", exc, status=400)
        flash(_("Finance's opinion recorded."), "success")
        return redirect(url_for(".application_view", app_id=app.id), code=303)

    @expose("/app/<int:app_id>/submit", methods=("POST",))
    def submit_view(self, app_id: int):
        """The applicant sends the application (again, after a rejection) into the chain;
        the team reviewers are notified (by the service)."""
        self._require(Action.EDIT)
        app = self._app(app_id)
        try:
            wo.submit(db.session, app, current_user, _today())
            db.session.commit()
        except (wo.WriteOffError, SealedError, StaleStateError) as exc:
            return self._refuse(app, "submit", exc)
        flash(_("Application %(no)s submitted for approval.", no=app.app_no), "success")
        return redirect(url_for(".application_view", app_id=app.id), code=303)

    # -- approval chain (Art.18) ----------------------------------------------------------------

    @expose("/app/<int:app_id>/decide", methods=("POST",))
    def decide_view(self, app_id: int):
        """Approve or reject the step named in the form, with a comment. Every rule (order of
        steps, no self-approval, one decision per person per round, the approver's scope) is
        checked by ``writeoff.decide``; a refusal changes nothing and is audited."""
        self._require(Action.APPROVE)
        app = self._app(app_id)
        try:
            wo.decide(
                db.session,
                app,
                current_user,
                request.form.get("step", ""),
                request.form.get("decision", ""),
                request.form.get("comment", ""),
            )
            db.session.commit()
        except ValueError as exc:  # WriteOffError, or an unknown step/decision value
            return self._refuse(app, "decide", exc)
        flash(_("Decision recorded."), "success")
        return redirect(url_for(".application_view", app_id=app.id), code=303)

    # -- filing, recourse, accountability ------------------------------------------------------

    @expose("/app/<int:app_id>/file", methods=("POST",))
    def file_view(self, app_id: int):
        """The president's office (credit) or finance (with the accounting reference) files
        the approved application; the second filing writes the receivables off, opens the
        recourse entry and the accountability finding, and seals the application."""
        self._require(Action.FILE)
        app = self._app(app_id)
        try:
            done = wo.file(
                db.session, app, current_user, _today(), request.form.get("accounting_ref")
            )
            db.session.commit()
        except (wo.WriteOffError, SealedError, StaleStateError) as exc:
            return self._refuse(app, "file", exc)
        if done:
            flash(_("Filed: the receivables are written off and the record is sealed."), "success")
        else:
            flash(_("Filed; waiting for the other filing office."), "success")
        return redirect(url_for(".application_view", app_id=app.id), code=303)

    @expose("/app/<int:app_id>/recovery", methods=("POST",))
    def recovery_view(self, app_id: int):
        """Finance books money recovered on the written-off debt against its recourse entry
        (Art.18). Side effect: one recovery per valid POST."""
        self._require(Action.CREATE, "recovery")
        app = self._app(app_id)
        entry = db.session.scalar(
            select(RecourseEntry).where(RecourseEntry.application_id == app.id)
        )
        if entry is None:
            abort(404)
        try:
            try:
                amount = read_amount(request.form.get("amount"))
            except ValueError as exc:
                raise wo.WriteOffError(str(exc)) from exc
            if amount is None:
                raise wo.WriteOffError(_("Enter a valid amount."))
            try:
                received_on = date.fromisoformat(request.form.get("received_on") or "")
            except ValueError as exc:
                raise wo.WriteOffError(_("Enter the date received as YYYY-MM-DD.")) from exc
            wo.record_recovery(
                db.session, entry, amount, received_on, (request.form.get("note") or None)
            )
            db.session.commit()
        except (wo.WriteOffError, SealedError, StaleStateError) as exc:
            return self._refuse(app, "recovery", exc, status=400)
        flash(_("Recovery booked."), "success")
        return redirect(url_for(".application_view", app_id=app.id) + "#recourse", code=303)

    @expose("/app/<int:app_id>/accountability", methods=("POST",))
    def accountability_view(self, app_id: int):
        """The team records the accountability finding (Art.24–26): individual or unit
        responsibility, the people named, the finding; ``completed`` closes it."""
        self._require(Action.EDIT, "accountability_finding")
        app = self._app(app_id)
        finding = db.session.scalar(
            select(AccountabilityFinding).where(AccountabilityFinding.application_id == app.id)
        )
        if finding is None:
            abort(404)
        form = request.form
        try:
            accountability.record_finding(
                db.session,
                finding,
                kind=form.get("kind"),
                people=form.get("people"),
                text=form.get("finding"),
                completed=form.get("completed") == "1",
                user=current_user,
            )
            db.session.commit()
        except (wo.WriteOffError, SealedError, StaleStateError) as exc:
            return self._refuse(app, "accountability", exc, status=400)
        flash(_("Accountability finding saved."), "success")
        return redirect(url_for(".application_view", app_id=app.id) + "#accountability", code=303)
