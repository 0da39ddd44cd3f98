"""The scorecard's page (Art.27–28): lines, amendment with a comment, approval, PDF, the job.

Mixed into ``AssessmentView`` (``views/assessment.py``). An approved scorecard is locked: the
amend and approve endpoints refuse it (``scorecard.amend`` / ``approve`` claim its status), and
its generic Flask-Admin doors are shut (``governance``).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.assessment import Scorecard, ScorecardStatus
from backoffice.models.audit import AuditAction
from backoffice.models.case import CaseCost
from backoffice.models.org import Company
from backoffice.permissions import Action, can
from backoffice.services import audit, scorecard
from backoffice.services.pdf import PdfError, render_pdf
from backoffice.views.base import attachment

RESOURCE = "scorecard"


class ScorecardPages:
    def _card(self, card_id: int) -> Scorecard:
        return self._own(Scorecard, card_id)

    def _card_refused(self, card: Scorecard, op: str, exc: Exception):
        db.session.rollback()
        audit.record_now(
            AuditAction.REFUSED, entity=RESOURCE, entity_id=card.id, detail=f"{op}: {exc}"
        )
        flash(str(exc), "error")
        return redirect(url_for(".scorecard_view", card_id=card.id), code=303)

    @expose("/scorecard/run", methods=("POST",))
    def run_view(self):
        """Art.27: queue the scorecard job for a period (the job page shows its progress)."""
        from backoffice.services import assessment
        from backoffice.views.assessment import company_id_of
        from jobs import QueueUnavailable, enqueue
        from jobs.assessment import assessment_scorecard, scorecard_job_id

        self._require(RESOURCE, Action.RUN)
        try:
            period = assessment.parse_period(request.form.get("period"))
        except ValueError as exc:
            return self._refused(RESOURCE, "run", exc)
        company_id = company_id_of(current_user)
        try:
            run = enqueue(
                assessment_scorecard,
                company_id,
                period,
                job_id=scorecard_job_id(company_id, period),
                user_id=current_user.id,
            )
        except QueueUnavailable as exc:
            return self._refused(RESOURCE, "run", exc)
        flash(
            _(
                "The scorecard of %(period)s is being computed (job %(id)s).",
                period=period,
                id=run.id,
            ),
            "success",
        )
        return self._back(int(period[:4]), "#scorecards")

    @expose("/scorecard/<int:card_id>/")
    def scorecard_view(self, card_id: int):
        self._require(RESOURCE, Action.VIEW)
        card = self._card(card_id)
        open_ = card.status is not ScorecardStatus.APPROVED
        bonuses = db.session.scalars(
            select(CaseCost)
            .where(CaseCost.scorecard_line_id.in_([line.id for line in card.lines]))
            .order_by(CaseCost.id)
        ).all()
        missed = set()
        if len(card.period) == 4:  # Art.26(4): the year's targets
            missed = {
                m.user_id
                for m in scorecard.missed_targets(db.session, int(card.period), card.company_id)
            }
        return self.render(
            "admin/scorecard.html",
            card=card,
            bonuses=bonuses,
            missed=missed,
            may_amend=open_ and can(current_user, RESOURCE, Action.EDIT),
            may_approve=open_ and can(current_user, RESOURCE, Action.APPROVE),
            may_download=can(current_user, RESOURCE, Action.DOWNLOAD),
        )

    @expose("/scorecard/<int:card_id>/amend", methods=("POST",))
    def amend_view(self, card_id: int):
        """Art.28: change the proposed amounts, with a comment."""
        self._require(RESOURCE, Action.EDIT)
        card = self._card(card_id)
        amounts = {}
        try:
            for line in card.lines:
                raw = request.form.get(f"amount-{line.id}")
                if raw not in (None, ""):
                    amounts[line.id] = Decimal(raw.replace(",", ""))
            scorecard.amend(db.session, current_user, card, amounts, request.form.get("comment"))
            db.session.commit()
        except (ValueError, InvalidOperation) as exc:
            return self._card_refused(card, "amend", exc)
        flash(_("Scorecard amended."), "success")
        return redirect(url_for(".scorecard_view", card_id=card.id), code=303)

    @expose("/scorecard/<int:card_id>/approve", methods=("POST",))
    def approve_view(self, card_id: int):
        """Art.28: approve and lock; Art.8: the bonuses enter the cost ledger."""
        self._require(RESOURCE, Action.APPROVE)
        card = self._card(card_id)
        try:
            booked = scorecard.approve(db.session, current_user, card, request.form.get("comment"))
            db.session.commit()
        except ValueError as exc:
            return self._card_refused(card, "approve", exc)
        flash(
            _(
                "Scorecard approved and locked; %(n)s bonus costs entered the cost ledger.",
                n=booked,
            ),
            "success",
        )
        return redirect(url_for(".scorecard_view", card_id=card.id), code=303)

    @expose("/scorecard/<int:card_id>.pdf")
    def scorecard_pdf(self, card_id: int):
        self._require(RESOURCE, Action.DOWNLOAD)
        card = self._card(card_id)
        try:
            data = render_scorecard_pdf(card)
        except PdfError as exc:
            return _("The PDF could not be made: %(error)s", error=exc), 500
        name = f"清欠考核结果-{card.period}.pdf"
        audit.record(
            db.session, AuditAction.DOWNLOAD, entity=RESOURCE, entity_id=card.id, detail=name
        )
        db.session.commit()
        return attachment(data, name, "application/pdf")


def render_scorecard_pdf(card: Scorecard) -> bytes:
    """The scorecard as a PDF (Art.27–28), with its status, amendments and approval."""
    missed = set()
    if len(card.period) == 4:
        missed = {
            m.user_id
            for m in scorecard.missed_targets(db.session, int(card.period), card.company_id)
        }
    return render_pdf(
        "scorecard.html",
        company=db.session.get(Company, card.company_id),
        card=card,
        missed=missed,
    )
