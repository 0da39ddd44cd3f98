"""Disputed balances (issue 15) for the customer's collector, finance and the team lead, who
resolve them through ``services/balance_dispute.resolve`` on the dispute's page (the only
door); the auditor reads. And the debtor page's log of views and answers, read-only."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.balance_confirmation import DisputeResolution
from backoffice.models.case import CollectionCase
from backoffice.permissions import Action, can
from backoffice.services import balance_dispute
from backoffice.services.transitions import StaleStateError
from backoffice.views.base import SecuredModelView, deny

REQUEST = "balance_confirmation_request"
DISPUTE = "balance_dispute"


def _dispute_link(view, context, model, name):
    return Markup('<a href="{}">{}</a>').format(
        url_for("balance_dispute.resolve_view", dispute_id=model.id), model.request.number
    )


class BalanceDisputeView(SecuredModelView):
    """Disputed balances for the customer's collector; resolved on their own page only."""

    column_list = (
        "request",
        "customer",
        "collector",
        "disputed_amount",
        "difference",
        "reason",
        "deadline",
        "status",
        "resolution",
    )
    column_filters = ("status", "reason", "resolution", "deadline")
    column_default_sort = ("deadline", False)
    column_formatters = {"request": _dispute_link}

    @expose("/resolve/<int:dispute_id>", methods=("GET", "POST"))
    def resolve_view(self, dispute_id: int):
        """The dispute's documents and files; POST records its resolution."""
        dispute = self.get_one(str(dispute_id))
        may_close = can(current_user, DISPUTE, Action.CLOSE)
        cases = db.session.scalars(
            select(CollectionCase).where(CollectionCase.customer_id == dispute.customer_id)
        ).all()

        def page(status: int = 200):
            page = self.render(
                "admin/balance_dispute.html",
                dispute=dispute,
                req=dispute.request,
                resolutions=list(DisputeResolution),
                cases=cases,
                may_close=may_close and dispute.status.value == "open",
                may_download=can(current_user, REQUEST, Action.DOWNLOAD),
                form=request.form,
            )
            return page, status

        if request.method == "GET":
            return page()
        if not may_close:
            return deny(DISPUTE, Action.CLOSE)
        try:
            balance_dispute.resolve(
                db.session,
                dispute,
                resolution=request.form.get("resolution", ""),
                note=request.form.get("note", ""),
                user=current_user,
                case_id=request.form.get("case_id", type=int),
            )
            db.session.commit()
        except balance_dispute.DisputeError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return page(400)
        except StaleStateError:
            raise
        flash(_("The dispute is resolved."), "success")
        return redirect(url_for(".resolve_view", dispute_id=dispute.id), code=303)


class BalanceConfirmationAccessView(SecuredModelView):
    """Every opening of and answer on the debtor page, with IP address and time."""

    column_list = ("request", "kind", "at", "ip", "user_agent")
    column_filters = ("kind", "at")
    column_default_sort = ("at", True)
