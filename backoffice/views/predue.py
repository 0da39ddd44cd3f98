"""即将到期: the receivables falling due within the warning days (the practice texts' warning
before the due date), by customer, with a reminder letter (到期付款提醒函) for each customer.

Collectors see their own units' documents (row scope); the letter download is audited. The
rule lives in ``services/predue.py``; the daily reminders in ``jobs/reminders.py``.
"""

from __future__ import annotations

from collections import OrderedDict

from flask import abort, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.base import local_today
from backoffice.models.customer import Customer
from backoffice.models.receivable import Receivable
from backoffice.permissions import Action, can, in_scope, scope_filter
from backoffice.services import audit, predue
from backoffice.services.pdf import PdfError
from backoffice.views.base import attachment, deny

RESOURCE = "predue_warning"


_today = local_today


class PredueView(BaseView):
    def is_accessible(self) -> bool:
        return current_user.is_authenticated and can(current_user, RESOURCE, Action.VIEW)

    def is_visible(self) -> bool:
        return self.is_accessible()

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return deny(RESOURCE, Action.VIEW)

    def _falling_due(self, customer_id: int | None = None) -> list[Receivable]:
        scope = scope_filter(Receivable, current_user)
        if customer_id is not None:
            scope = scope & (Receivable.customer_id == customer_id)
        return predue.falling_due(db.session, _today(), scope=scope)

    @expose("/")
    def index(self):
        """The documents falling due within the warning days, grouped by customer."""
        groups: OrderedDict[int, list[Receivable]] = OrderedDict()
        for rec in self._falling_due():
            groups.setdefault(rec.customer_id, []).append(rec)
        return self.render(
            "admin/predue.html",
            groups=groups,
            days=predue.warning_days(db.session),
            today=_today(),
            may_download=can(current_user, RESOURCE, Action.DOWNLOAD),
        )

    @expose("/letter/<int:customer_id>.pdf")
    def letter(self, customer_id: int):
        """The customer's 到期付款提醒函 for its documents falling due (audited)."""
        if not can(current_user, RESOURCE, Action.DOWNLOAD):
            return deny(RESOURCE, Action.DOWNLOAD)
        customer = db.session.get(Customer, customer_id)
        if customer is None or not in_scope(customer, current_user):
            abort(404)
        receivables = self._falling_due(customer_id)
        if not receivables:
            abort(404)
        try:
            pdf = predue.letter_pdf(customer, receivables, _today())
        except PdfError:
            abort(500)
        name = f"到期付款提醒函-{customer.name}-{_today()}.pdf"
        audit.record(
            db.session, AuditAction.DOWNLOAD, entity="customer", entity_id=customer.id, detail=name
        )
        db.session.commit()
        return attachment(pdf, name, "application/pdf")
