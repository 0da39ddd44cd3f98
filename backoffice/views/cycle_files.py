"""Downloads of the monthly cycle's generated files (Art.12): the unit report (逾期账款报表,
PDF and XLSX) and the customer statement (对账单, PDF), and ``send_stored`` which serves any
stored file as an audited attachment. Moved out of ``views/confirmation.py`` unchanged.

Art.12: finance or an admin sends a unit's report again (重新发送) from its row; the service
(``report_dispatch.send_again``) records the sending like the first one.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.permissions import Action, can
from backoffice.services import audit, report_dispatch
from backoffice.services.storage import StorageError, get_storage
from backoffice.services.transitions import StaleStateError
from backoffice.views.base import attachment, deny

PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _link(href: str, text: Any, css: str) -> Markup:
    return Markup('<a class="{} mr-1" href="{}">{}</a>').format(css, href, text)


def send_stored(
    key: str | None, download_name: str, mimetype: str, entity: str, entity_id: int
) -> Any:
    """Serve a generated file from storage as an attachment (Chinese name kept through
    ``filename*``) and write a DOWNLOAD audit entry. 404 when the file was never generated."""
    if not key:
        abort(404)
    try:
        with get_storage().open(key) as stored:
            data = stored.read()
    except (StorageError, OSError):
        abort(404)
    audit.record(
        db.session, AuditAction.DOWNLOAD, entity=entity, entity_id=entity_id, detail=download_name
    )
    db.session.commit()
    return attachment(data, download_name, mimetype)


# ---------------------------------------------------------------------------------------------
# Unit report and statements


def _download_links(endpoint: str, kinds: tuple[str, ...], resource: str):
    def formatter(view, context, model, name) -> Markup:
        if not can(current_user, resource, Action.DOWNLOAD):
            return Markup("")
        links = [
            _link(
                url_for(endpoint, row_id=model.id, kind=kind), kind.upper(), "btn btn-sm btn-link"
            )
            for kind in kinds
            if getattr(model, f"{kind}_key", None)
        ]
        return Markup(" ").join(links)

    return formatter


def _send_again_button(view, context, model, name) -> Markup:
    """Art.12: the 重新发送 button, for those who may send the report."""
    if not can(current_user, "monthly_report", Action.SEND):
        return Markup("")
    return Markup(
        '<form method="post" action="{}" class="d-inline">'
        '<input type="hidden" name="csrf_token" value="{}">'
        '<button type="submit" class="btn btn-sm btn-outline-primary">{}</button></form>'
    ).format(url_for(".send_again_view", row_id=model.id), generate_csrf(), _("Send again"))


class ReportDownloads:
    """PDF and XLSX of a unit's monthly overdue report (逾期账款报表), and sending it again."""

    column_formatters = {
        "files": _download_links(".download_view", ("pdf", "xlsx"), "monthly_report"),
        "send_again": _send_again_button,
    }
    column_formatters_detail = column_formatters
    column_labels = {"files": _l("Files"), "send_again": _l("Send again")}
    # buttons: nothing to put in a file
    column_export_exclude_list = ("files", "send_again")

    @expose("/send-again/<int:row_id>", methods=("POST",))
    def send_again_view(self, row_id: int):
        """Art.12: send the unit's report once more to its contacts and finance, recorded."""
        if not can(current_user, "monthly_report", Action.SEND):
            return deny("monthly_report", Action.SEND)
        report = self.get_one(str(row_id))
        if report is None:
            abort(404)
        try:
            sent = report_dispatch.send_again(db.session, report, current_user.id)
            db.session.commit()
        except (report_dispatch.DispatchError, StaleStateError) as exc:
            db.session.rollback()
            flash(_("Not sent: %(reason)s", reason=str(exc)), "error")
        else:
            flash(
                _(
                    "Sent again (sending %(no)s) to %(n)s recipients.",
                    no=sent[0].sending_no,
                    n=len(sent),
                ),
                "success",
            )
        return redirect(url_for(".index_view"), code=303)

    @expose("/download/<int:row_id>/<kind>")
    def download_view(self, row_id: int, kind: str):
        """The report as 逾期账款报表-<unit>-<period>.pdf / .xlsx (audited)."""
        if not can(current_user, "monthly_report", Action.DOWNLOAD):
            return deny("monthly_report", Action.DOWNLOAD)
        if kind not in ("pdf", "xlsx"):
            abort(404)
        report = self.get_one(str(row_id))
        key = report.pdf_key if kind == "pdf" else report.xlsx_key
        name = f"逾期账款报表-{report.sales_unit.name}-{report.period}.{kind}"
        return send_stored(key, name, PDF if kind == "pdf" else XLSX, "monthly_report", report.id)


class StatementDownloads:
    """PDF of a customer's statement of account (对账单)."""

    column_formatters = {"files": _download_links(".download_view", ("pdf",), "statement")}
    column_formatters_detail = column_formatters
    column_labels = {"files": _l("Files")}
    column_export_exclude_list = ("files",)  # download buttons: nothing to put in a file

    @expose("/download/<int:row_id>/<kind>")
    def download_view(self, row_id: int, kind: str):
        """The statement as 对账单-<customer>-<period>.pdf (audited)."""
        if not can(current_user, "statement", Action.DOWNLOAD):
            return deny("statement", Action.DOWNLOAD)
        if kind != "pdf":
            abort(404)
        statement = self.get_one(str(row_id))
        name = f"对账单-{statement.customer.name}-{statement.period}.pdf"
        return send_stored(statement.pdf_key, name, PDF, "statement", statement.id)
