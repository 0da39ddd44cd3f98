"""The register of refused applications and their consequences (Art.16 (4)) and the
collector's reasons and proposed measures for a case (Art.17), with its submit page.

Rules: ``services/refusals.py`` and ``services/case_submissions.py``; these pages collect
input, call them and show their refusals.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.base import local_today
from backoffice.models.case import ActionKind, CollectionCase
from backoffice.models.monthly import OverdueReason, ReasonClass
from backoffice.permissions import Action, can, in_scope, scope_filter
from backoffice.services import annex5
from backoffice.services import case_submissions as svc
from backoffice.views.base import SecuredModelView, deny

MEASURE_ROWS = 5


_today = local_today


def _case_link(view, context, model, name) -> Markup:
    case = model.case
    return Markup('<a href="{}">{}</a>').format(
        url_for("collection_case.details_view", id=case.id), case.case_no
    )


class RefusalConsequenceView(SecuredModelView):
    """Art.16 (4): refused applications; the unit and the handler keep the consequences."""

    column_list = (
        "case",
        "customer",
        "sales_unit",
        "handler",
        "outstanding",
        "refusal_reason",
        "consequence",
        "recorded_at",
    )
    column_filters = ("sales_unit", "recorded_at")
    column_default_sort = ("recorded_at", True)
    column_formatters = {"case": _case_link}


def _measures(view, context, model, name) -> Markup:
    items = [
        Markup("<li>{}（{}）：{}</li>").format(m.method.label, m.planned_on, m.detail)
        for m in model.measures
    ]
    return Markup('<ul class="mb-0 pl-3">{}</ul>').format(Markup("").join(items))


def _on_time(view, context, model, name) -> str:
    return _("On time") if model.on_time else _("Late")


class CaseSubmissionView(SecuredModelView):
    """Art.17: reasons and proposed measures per case; collectors submit them on their page."""

    column_list = (
        "case",
        "reason_class",
        "sub_reason",
        "reason_detail",
        "measures",
        "due_on",
        "on_time",
        "submitted_by",
        "submitted_at",
    )
    column_details_list = column_list
    column_filters = ("reason_class", "on_time", "submitted_at")
    column_default_sort = ("submitted_at", True)
    column_formatters = {"case": _case_link, "measures": _measures, "on_time": _on_time}
    column_formatters_detail = column_formatters
    list_template = "admin/case_submission_list.html"

    def render(self, template, **kwargs):
        if template == self.list_template:
            # The cases still waiting for this user's reasons and measures (Art.17).
            kwargs["awaiting"] = svc.awaiting(
                db.session, scope_filter(CollectionCase, current_user)
            )
            kwargs["may_submit"] = can(current_user, "case_submission", Action.CREATE)
        return super().render(template, **kwargs)

    @expose("/submit/<int:case_id>", methods=("GET", "POST"))
    def submit_view(self, case_id: int):
        """The collector's structured reasons and measures for one case (Art.17)."""
        if not can(current_user, "case_submission", Action.CREATE):
            return deny("case_submission", Action.CREATE)
        case = db.session.get(CollectionCase, case_id)
        if case is None or not in_scope(case, current_user):
            abort(404)
        data = {k: (request.form.get(k) or "").strip() for k in svc_fields()}
        rows = [
            {
                k: (request.form.get(f"m{i}.{k}") or "").strip()
                for k in ("method", "planned_on", "detail")
            }
            for i in range(MEASURE_ROWS)
        ]
        if request.method == "POST":
            try:
                row = svc.submit(db.session, case, svc.parse(data, rows), current_user.id, _today())
            except svc.SubmissionError as exc:
                db.session.rollback()
                flash(_("Not submitted: %(reason)s", reason=str(exc)), "error")
                return self._submit_page(case, data, rows, 400)
            db.session.commit()
            if row.on_time:
                flash(_("Submitted on time."), "success")
            else:
                flash(_("Submitted after the deadline; it is recorded as late."), "warning")
            return redirect(url_for(".details_view", id=row.id), code=303)
        return self._submit_page(case, data, rows)

    def _submit_page(self, case, data, rows, status: int = 200):
        reasons = list(
            db.session.scalars(
                select(OverdueReason)
                .where(OverdueReason.active.is_(True))
                .order_by(OverdueReason.reason_class, OverdueReason.id)
            )
        )
        page = self.render(
            "admin/case_submission.html",
            case=case,
            data=data,
            rows=rows,
            reasons=reasons,
            classes=list(ReasonClass),
            methods=list(ActionKind),
            annex5=annex5.TABLE,
            today=_today(),
        )
        return page, status


def svc_fields() -> tuple[str, ...]:
    return ("reason_class", "sub_reason_id", "reason_detail")
