"""The monthly leadership report (Art.9, Art.29; SPEC §3.7): a page and its PDF.

Leaders, the team lead, finance, admins and auditors may open it (``leadership_report`` in
the permission table); each sees the figures of their own row scope. Every PDF download is
audited.
"""

from __future__ import annotations

from flask import flash, request
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.base import local_today
from backoffice.models.org import Company
from backoffice.models.receivable import ChargeKind
from backoffice.permissions import Action, can
from backoffice.services import audit, leadership
from backoffice.services.dashboard import scope_key
from backoffice.services.ledger_cache import cached
from backoffice.services.pdf import PdfError, render_pdf
from backoffice.views.base import attachment, deny

RESOURCE = "leadership_report"
# How the page and the PDF lay out the aging migration (rows: bucket at the start) and
# the Art.3 charges (their columns, in their usual order).
LAYOUT = {
    "rows": leadership.MIGRATION_ROWS,
    "columns": leadership.MIGRATION_COLUMNS,
    "charge_kinds": list(ChargeKind),
}


today = local_today


class LeadershipView(BaseView):
    def is_accessible(self) -> bool:
        return current_user.is_authenticated and can(current_user, RESOURCE, Action.VIEW)

    def is_visible(self) -> bool:
        return self.is_accessible()

    def inaccessible_callback(self, name, **kwargs):
        return deny(RESOURCE, Action.VIEW)

    def _report(self, period: str) -> leadership.Report:
        """The report, cached like the dashboard: per scope and ledger version (a new payment,
        receivable or target recomputes it)."""
        day = today()
        leadership.period_dates(period, day)  # refuse a bad period before looking in the cache
        return cached(
            db.session,
            ("leadership", scope_key(current_user), period),
            day,
            lambda: leadership.build(db.session, current_user, period, day),
        )

    @expose("/")
    def index(self):
        period = request.args.get("period") or leadership.last_closed_period(today())
        try:
            report = self._report(period)
        except leadership.PeriodError as exc:
            flash(str(exc), "error")
            report = None
        return self.render(
            "admin/leadership.html",
            report=report,
            period=period,
            labels=leadership.LABELS,
            **LAYOUT,
        ), (200 if report else 400)

    @expose("/<period>.pdf")
    def pdf(self, period: str):
        if not can(current_user, RESOURCE, Action.DOWNLOAD):
            return deny(RESOURCE, Action.DOWNLOAD)
        try:
            report = self._report(period)
        except leadership.PeriodError as exc:
            return str(exc), 400, {"Content-Type": "text/plain; charset=utf-8"}
        # The letterhead: the user's company; for group-wide users, the first company set up
        # (the group itself in a usual installation).
        company = (
            db.session.get(Company, current_user.company_id)
            if current_user.company_id is not None
            else db.session.scalar(select(Company).order_by(Company.id).limit(1))
        )
        try:
            data = render_pdf("leadership_report.html", company=company, report=report, **LAYOUT)
        except PdfError as exc:
            return _("The PDF could not be made: %(error)s", error=exc), 500
        name = f"清欠工作月报-{report.period}.pdf"
        audit.record(db.session, AuditAction.DOWNLOAD, entity=RESOURCE, detail=name)
        db.session.commit()
        return attachment(data, name, "application/pdf")
