"""The auditors' confirmations register per year (issue 15) and its XLSX export.

Who may open it is the permission table's ``balance_confirmation_register`` row: the auditor
(read-only), finance, the administrator, the leadership and the team lead see every unit; a
collector sees the requests of their own units (the same row scope as the requests list). The
figures come from ``services/balance_register.py``.
"""

from __future__ import annotations

import io

from flask import abort, request
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.balance_archive import BalanceConfirmationArchive
from backoffice.models.balance_confirmation import (
    BalanceConfirmationKind,
    BalanceConfirmationStatus,
    LetterForm,
)
from backoffice.models.base import local_today
from backoffice.permissions import Action, can
from backoffice.services import audit, balance_archive
from backoffice.services import balance_register as register
from backoffice.services.export import cell_value, export_filename, write_xlsx
from backoffice.services.formatting import format_amount, format_percent, local_datetime
from backoffice.views.balance_confirm import kind_and_form
from backoffice.views.exporting import XLSX_MIMETYPE
from backoffice.views.responses import attachment, deny

RESOURCE = register.RESOURCE


def _filters() -> register.Filters:
    year = request.args.get("year", type=int) or local_today().year
    return register.Filters.parse(
        year, request.args.get("kind"), request.args.get("form"), request.args.get("status")
    )


def shown(value, column: int) -> str:
    """A register cell as the page shows it: amounts with separators, times in Shanghai to
    the minute, labels for states, nothing for none."""
    from datetime import datetime

    if value is None or value == "":
        return ""
    if column in register.AMOUNT_COLUMNS:
        return format_amount(value)
    if isinstance(value, datetime):
        return local_datetime(value)
    return str(cell_value(value))


def _page_table(reqs, rows) -> dict:
    """The register as the page shows it: the kind and the letter form read as one cell
    (积极式询证函), so the register fits a 1366-px laptop with codes, kinds, units and times
    on one line (the template's ``nowrap``; issue 11). The XLSX keeps every column of
    ``register.headers``."""
    headers = register.headers()
    shown_rows = [[shown(v, i) for i, v in enumerate(row)] for row in rows]
    return {
        "headers": [headers[0], headers[1], *headers[3:]],
        "rows": [
            [row[0], kind_and_form(req), *row[3:]]
            for req, row in zip(reqs, shown_rows, strict=True)
        ],
        "amount_columns": {i - 1 if i > 2 else i for i in register.AMOUNT_COLUMNS},
    }


class BalanceRegisterView(BaseView):
    """往来询证登记簿: the year's requests, their answers, the reply rate and agreed share."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and can(current_user, RESOURCE, Action.VIEW)

    def is_visible(self) -> bool:
        return self.is_accessible()

    def inaccessible_callback(self, name, **kwargs):
        return deny(RESOURCE, Action.VIEW)

    def _rows(self, filters: register.Filters):
        reqs = register.requests(db.session, current_user, filters)
        disputes = register.disputes_of(db.session, [r.id for r in reqs])
        return reqs, [register.cells(r, disputes.get(r.id)) for r in reqs]

    @expose("/")
    def index(self):
        return self._page(_filters())

    def _page(self, filters: register.Filters, checked=None):
        reqs, rows = self._rows(filters)
        years = register.years(db.session, current_user)
        if filters.year not in years:
            years = sorted({*years, filters.year}, reverse=True)
        return self.render(
            "admin/balance_register.html",
            f=filters,
            years=years,
            kinds=list(BalanceConfirmationKind),
            forms=list(LetterForm),
            statuses=list(BalanceConfirmationStatus),
            summary=register.summarize(reqs),
            **_page_table(reqs, rows),
            percent=format_percent,
            query=request.query_string.decode("ascii", "ignore"),
            may_export=can(current_user, RESOURCE, Action.EXPORT),
            packages=balance_archive.packages(db.session, filters.year)
            if can(current_user, "archive_record", Action.VIEW)
            else [],
            may_verify=can(current_user, "archive_record", Action.VERIFY),
            checked=checked or {},
        )

    @expose("/verify/<int:package_id>", methods=("POST",))
    def verify(self, package_id: int):
        """Check one package of the year's replies against its signed manifest and show
        "intact" or every difference on the register; a failure is an audited alert."""
        if not can(current_user, "archive_record", Action.VERIFY):
            return deny("archive_record", Action.VERIFY)
        package = db.session.get(BalanceConfirmationArchive, package_id)
        if package is None:
            abort(404)
        problems = balance_archive.verify(db.session, package)
        if problems:
            audit.record_now(
                AuditAction.ALERT,
                entity="balance_confirmation_archive",
                entity_id=package.id,
                detail="verification failed: "
                + "; ".join(f"{where}: {reason}" for where, reason in problems),
            )
        filters = register.Filters(package.year)
        return self._page(filters, {package.id: problems})

    @expose("/register.xlsx")
    def xlsx(self):
        """The register as XLSX: numbers stay numbers, dates dates, states their labels, the
        sheet named in Chinese, the file named after the register and the date; audited."""
        if not can(current_user, RESOURCE, Action.EXPORT):
            return deny(RESOURCE, Action.EXPORT)
        filters = _filters()
        reqs, rows = self._rows(filters)
        summary = register.summarize(reqs)
        name = _("Confirmations register")
        out = io.BytesIO()
        footer = [_("Total"), "", "", "", "", "", summary.sent.amount] + [""] * 9
        write_xlsx(
            out,
            name,
            register.headers(),
            rows,
            title=_(
                "%(name)s %(year)s: %(sent)s sent, %(answered)s answered, reply rate "
                "%(rate)s, agreed %(agreed)s of the balance",
                name=name,
                year=filters.year,
                sent=summary.sent.n,
                answered=summary.answered.n,
                rate=format_percent(summary.reply_rate),
                agreed=format_percent(summary.agreed_share),
            ),
            footer=footer,
        )
        filename = export_filename(name, "xlsx")
        audit.record(db.session, AuditAction.DOWNLOAD, entity=RESOURCE, detail=filename)
        db.session.commit()
        return attachment(out.getvalue(), filename, XLSX_MIMETYPE)
