"""Requests for information (Art.19): the list, the page where the team issues one to a named
unit or person, and the page where the addressee answers it (its task's link).

The rules live in ``backoffice.services.information``; these endpoints check the permission
table (issue: ``create``; answer: ``answer`` and the service's check that the user is the
person or of the unit asked), call the service, commit, or show its refusal, audited.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.base import local_today
from backoffice.models.case import CollectionCase
from backoffice.models.case_steps import InformationRequest, RequestStatus
from backoffice.models.org import SalesUnit
from backoffice.models.user import User
from backoffice.permissions import Action, can, scope_filter
from backoffice.services import audit, information
from backoffice.services.case_core import CaseError
from backoffice.services.transitions import StaleStateError
from backoffice.views.base import SecuredModelView, deny

RESOURCE = "information_request"


today = local_today


class InformationRequestView(SecuredModelView):
    """The team's requests (Art.19): subject, addressee, deadline, answer."""

    column_list = (
        "subject",
        "case",
        "addressee_unit",
        "addressee_user",
        "issued_on",
        "due_on",
        "status",
        "answered_late",
        "escalated_on",
    )
    column_filters = ("status", "due_on", "answered_late")
    column_searchable_list = ("subject",)
    column_default_sort = ("due_on", True)
    column_formatters = {
        "subject": lambda v, c, m, n: Markup('<a href="{}">{}</a>').format(
            url_for("information_request.answer_view", request_id=m.id), m.subject
        )
    }

    def _refused(self, message: str, page, status: int = 409):
        db.session.rollback()
        audit.record_now(AuditAction.REFUSED, entity=RESOURCE, detail=message[:500])
        flash(_("Refused: %(reason)s", reason=message), "error")
        return page(status)

    @expose("/issue/", methods=("GET", "POST"))
    def issue_view(self):
        """Art.19: issue a request to a unit or a person, with a deadline in working days."""
        if not can(current_user, RESOURCE, Action.CREATE):
            return deny(RESOURCE, Action.CREATE)
        case = None
        case_id = request.values.get("case_id", type=int)
        if case_id:
            case = db.session.scalar(
                select(CollectionCase)
                .where(CollectionCase.id == case_id)
                .where(scope_filter(CollectionCase, current_user))
            )
            if case is None:
                abort(404)

        def page(status: int = 200):
            units = db.session.scalars(select(SalesUnit).order_by(SalesUnit.name)).all()
            people = db.session.scalars(
                select(User).where(User.active.is_(True)).order_by(User.display_name).limit(500)
            ).all()
            return self.render(
                "admin/information_issue.html", units=units, people=people, case=case,
                form=request.form,
            ), status  # fmt: skip

        if request.method == "GET":
            return page()
        form = request.form
        try:
            req = information.issue(
                db.session,
                user_id=current_user.id,
                subject=form.get("subject"),
                question=form.get("question"),
                workdays=form.get("workdays", type=int) or 0,
                on=today(),
                case=case,
                unit_id=form.get("unit_id", type=int),
                addressee_user_id=form.get("user_id", type=int),
            )
            db.session.commit()
        except CaseError as exc:
            return self._refused(str(exc), page, 400)
        flash(_("Request for information sent."), "success")
        return redirect(url_for(".answer_view", request_id=req.id), code=303)

    @expose("/answer/<int:request_id>", methods=("GET", "POST"))
    def answer_view(self, request_id: int):
        """The request and its answer; its addressees answer here."""
        req = db.session.get(InformationRequest, request_id)
        if req is None:
            abort(404)
        user = current_user
        addressed = information.may_answer(db.session, req, user)
        in_scope = db.session.scalar(
            select(InformationRequest.id)
            .where(InformationRequest.id == req.id)
            .where(scope_filter(InformationRequest, user))
        )
        if not addressed and in_scope is None:
            abort(404)  # neither asked nor in the reader's scope: as if it did not exist

        def page(status: int = 200):
            db.session.refresh(req)
            may = (
                req.status is RequestStatus.OPEN
                and addressed
                and can(user, RESOURCE, Action.ANSWER)
            )
            return self.render("admin/information_answer.html", req=req, may_answer=may), status

        if request.method == "GET":
            return page()
        if not can(user, RESOURCE, Action.ANSWER) or not addressed:
            return deny(RESOURCE, Action.ANSWER)
        try:
            information.answer(db.session, req, user, request.form.get("answer"), today())
            db.session.commit()
        except (CaseError, StaleStateError) as exc:
            return self._refused(str(exc), page)
        flash(_("Answer sent to the team."), "success")
        return redirect(url_for(".answer_view", request_id=req.id), code=303)
