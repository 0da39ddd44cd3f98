"""Finance's split page for a line with both internal and external reasons (Art.15 (3)), mixed
into ``ConfirmationFormView``; and the read-only lists of the parts and of the monthly report's
sendings (Art.12). The rules live in ``services/confirmation_split.py`` and
``services/report_dispatch.py``."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.monthly import ConfirmationForm, ConfirmationLine, OverdueReason, ReasonClass
from backoffice.permissions import Action, can, in_scope
from backoffice.services import annex5
from backoffice.services import confirmation_split as split_svc
from backoffice.services.amounts import read_amount
from backoffice.services.confirmation import ConfirmationError
from backoffice.views.base import SecuredModelView, deny


class SplitPages:
    """``/split/<line id>``: finance splits a verified line into its two parts."""

    @expose("/split/<int:line_id>", methods=("GET", "POST"))
    def split_view(self, line_id: int):
        """GET shows the line and a part for each class; POST splits it (Art.15 (3))."""
        if not can(current_user, "confirmation_form", Action.ROUTE):
            return deny("confirmation_form", Action.ROUTE)
        line = db.session.get(ConfirmationLine, line_id)
        if line is None or not in_scope(line, current_user):
            abort(404)
        values = {
            c.value: {"sub_reason_id": "", "amount": "", "note": ""} for c in split_svc.PART_CLASSES
        }
        if request.method == "POST":
            parts = []
            try:
                for cls in split_svc.PART_CLASSES:
                    given = {
                        k: (request.form.get(f"{cls.value}.{k}") or "").strip()
                        for k in ("sub_reason_id", "amount", "note")
                    }
                    values[cls.value] = given
                    try:
                        amount = read_amount(given["amount"]) or Decimal("0")
                    except ValueError as exc:
                        raise ConfirmationError(f"{cls.label}：{exc}") from exc
                    if not given["sub_reason_id"].isdigit():
                        raise ConfirmationError(
                            _("choose a specific reason of class %(cls)s", cls=cls.label)
                        )
                    parts.append(
                        split_svc.PartInput(cls, int(given["sub_reason_id"]), amount, given["note"])
                    )
                made = split_svc.split_line(db.session, line, parts, current_user.id)
            except ConfirmationError as exc:
                db.session.rollback()
                flash(_("Not split: %(reason)s", reason=str(exc)), "error")
                return self._split_page(line, values, status=400)
            db.session.commit()
            flash(_("Split into %(n)s parts, each routed.", n=len(made)), "success")
            return redirect(url_for(".route_view", form_id=line.form_id), code=303)
        return self._split_page(line, values)

    def _split_page(self, line: ConfirmationLine, values, status: int = 200):
        reasons = list(
            db.session.scalars(
                select(OverdueReason)
                .where(OverdueReason.active.is_(True))
                .order_by(OverdueReason.reason_class, OverdueReason.id)
            )
        )
        page = self.render(
            "admin/confirmation_split.html",
            line=line,
            form=db.session.get(ConfirmationForm, line.form_id),
            parts=split_svc.parts_of_line(line),
            splittable=split_svc.splittable(line),
            classes=split_svc.PART_CLASSES,
            reasons={c.value: [r for r in reasons if r.reason_class is c] for c in ReasonClass},
            values=values,
            annex5=annex5.TABLE,
        )
        return page, status


class ConfirmationLinePartView(SecuredModelView):
    """Art.15 (3): the parts finance split lines into, with their routes (read-only)."""

    column_list = (
        "line",
        "reason_class",
        "sub_reason",
        "amount",
        "route",
        "assignee",
        "split_by",
        "split_at",
    )
    column_filters = ("reason_class", "route")
    column_default_sort = ("split_at", True)


class ReportDispatchView(SecuredModelView):
    """Art.12: every sending of a monthly report: to whom, when, by whom, what (read-only)."""

    column_list = (
        "period",
        "sales_unit",
        "sent_at",
        "sending_no",
        "sent_by",
        "channel",
        "recipient",
        "attachments",
    )
    column_filters = ("period", "sales_unit", "channel")
    column_searchable_list = ("recipient",)
    column_default_sort = ("sent_at", True)
    column_formatters = {
        "sent_by": lambda v, c, m, n: m.sent_by.display_name if m.sent_by else _("Monthly job")
    }
