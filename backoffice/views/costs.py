"""The collection-cost ledger page and its XLSX export (Art.8; ``services/costs.py``).

Finance, the team lead, the leadership and auditors see every unit; a collector only the
units they belong to (row scope). Filters: a period (year or month) or a date range, a unit,
a kind. Every export is audited.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import flash, request
from flask_admin import BaseView, expose
from flask_login import current_user
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.base import SHANGHAI
from backoffice.models.case import CostKind
from backoffice.models.org import SalesUnit
from backoffice.permissions import Action, can, scope_filter
from backoffice.services import assessment, audit, costs
from backoffice.views.base import attachment, deny

RESOURCE = "cost_ledger"


class CostLedgerView(BaseView):
    def is_accessible(self) -> bool:
        return current_user.is_authenticated and can(current_user, RESOURCE, Action.VIEW)

    def is_visible(self) -> bool:
        return self.is_accessible()

    def inaccessible_callback(self, name, **kwargs):
        return deny(RESOURCE, Action.VIEW)

    def _filters(self) -> dict:
        """The page's filters from the query string; a bad one raises ``ValueError``."""
        args = request.args
        period = (args.get("period") or "").strip()
        if args.get("start") or args.get("end"):
            start = date.fromisoformat(args.get("start") or "2000-01-01")
            end = date.fromisoformat(args.get("end") or datetime.now(SHANGHAI).date().isoformat())
            period = ""
        else:
            period = period or str(datetime.now(SHANGHAI).year)
            start, end = assessment.period_bounds(period)
        unit = args.get("unit") or None
        kind = args.get("kind") or None
        return {
            "period": period,
            "start": start,
            "end": end,
            "unit_id": int(unit) if unit else None,
            "kind": CostKind(kind) if kind else None,
        }

    @expose("/")
    def index(self):
        try:
            f = self._filters()
        except ValueError as exc:
            flash(str(exc), "error")
            f = None
        led = entries = None
        if f is not None:
            led = costs.ledger(
                db.session, current_user, f["start"], f["end"], f["unit_id"], f["kind"]
            )
            entries = costs.entries(
                db.session, current_user, f["start"], f["end"], f["unit_id"], f["kind"]
            )
        units = db.session.scalars(
            select(SalesUnit).where(scope_filter(SalesUnit, current_user)).order_by(SalesUnit.name)
        ).all()
        return self.render(
            "admin/costs.html",
            f=f or {},
            ledger=led,
            entries=entries,
            kinds=costs.KINDS,
            units=units,
            per_hundred=costs.per_hundred,
            may_export=can(current_user, RESOURCE, Action.EXPORT),
            query=request.query_string.decode(),
        ), (200 if f is not None else 400)

    @expose("/export.xlsx")
    def export(self):
        if not can(current_user, RESOURCE, Action.EXPORT):
            return deny(RESOURCE, Action.EXPORT)
        try:
            f = self._filters()
        except ValueError as exc:
            return str(exc), 400, {"Content-Type": "text/plain; charset=utf-8"}
        led = costs.ledger(db.session, current_user, f["start"], f["end"], f["unit_id"], f["kind"])
        data, name = costs.export_xlsx(
            db.session, current_user, led, unit_id=f["unit_id"], kind=f["kind"]
        )
        audit.record(db.session, AuditAction.DOWNLOAD, entity=RESOURCE, detail=name)
        db.session.commit()
        return attachment(
            data, name, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
