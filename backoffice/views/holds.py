"""Holds (Art.26(1), (4)), the register HR exports, and the hand-over of a leaver (Art.7).

- ``AccountabilityHoldView``: the holds, read only (placed by a confirmed finding, lifted by
  the recovery, ``services/holds.py``).
- ``AccountabilityRegisterView``: the register (问责登记簿) of holds in force (or all), with
  the flags other rules add (``holds.FLAG_SOURCES``), and its XLSX export.
- ``HandOverView``: past hand-overs and the hand-over form (``services/handover.py``).
"""

from __future__ import annotations

import io
from datetime import datetime

from flask import flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.base import SHANGHAI
from backoffice.models.user import User
from backoffice.permissions import Action, can
from backoffice.services import audit, handover, holds
from backoffice.services.export import export_filename, write_xlsx
from backoffice.services.formatting import local_datetime
from backoffice.services.transitions import StaleStateError
from backoffice.views.accountability import finding_link
from backoffice.views.base import SecuredModelView, attachment, deny
from backoffice.views.exporting import XLSX_MIMETYPE

REGISTER = "accountability_register"


class AccountabilityHoldView(SecuredModelView):
    column_list = ("user", "kind", "finding", "placed_at", "lifted_at", "lift_reason")
    column_formatters = {"finding": finding_link}
    column_filters = ("kind", "lifted_at")


def register_headers() -> list[str]:
    return [
        _("Person"),
        _("Employee code"),
        _("Hold or flag"),
        _("Article point"),
        _("Source"),
        _("Loss not recovered"),
        _("Since"),
        _("Lifted"),
        _("Reason lifted"),
    ]


def register_cells(row: holds.RegisterRow) -> list:
    return [
        str(row.person),
        row.person.employee_code or "",
        row.what,
        row.basis,
        row.source,
        row.unrecovered,
        local_datetime(row.since),
        local_datetime(row.lifted_at) if row.lifted_at else "",
        row.lift_reason or "",
    ]


class AccountabilityRegisterView(BaseView):
    """问责登记簿: who is held, why, since when; HR exports it as XLSX."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and can(current_user, REGISTER, Action.VIEW)

    def is_visible(self) -> bool:
        return self.is_accessible()

    def inaccessible_callback(self, name, **kwargs):
        return deny(REGISTER, Action.VIEW)

    @expose("/")
    def index(self):
        active_only = request.args.get("all") != "1"
        rows = holds.register_rows(db.session, active_only)
        return self.render(
            "admin/accountability_register.html",
            rows=[register_cells(r) for r in rows],
            headers=register_headers(),
            active_only=active_only,
        )

    @expose("/register.xlsx")
    def xlsx(self):
        """The register as XLSX (formula-safe cells, services/export); the export is audited."""
        if not can(current_user, REGISTER, Action.EXPORT):
            return deny(REGISTER, Action.EXPORT)
        active_only = request.args.get("all") != "1"
        out = io.BytesIO()
        write_xlsx(
            out,
            _("Accountability register"),
            register_headers(),
            (register_cells(r) for r in holds.register_rows(db.session, active_only)),
        )
        name = export_filename(_("Accountability register"), "xlsx")
        audit.record(db.session, AuditAction.DOWNLOAD, entity=REGISTER, detail=name)
        db.session.commit()
        return attachment(out.getvalue(), name, XLSX_MIMETYPE)


class HandOverView(SecuredModelView):
    """Art.7: hand-overs; a new one is made on the hand-over form, never typed in."""

    list_template = "admin/hand_over_list.html"

    column_list = (
        "leaver",
        "successor",
        "by",
        "designated",
        "receivables",
        "cases",
        "tasks",
        "handed_at",
    )
    column_filters = ("designated",)

    @expose("/hand-over/", methods=("GET", "POST"))
    def handover_view(self):
        """GET: choose the leaver (their open items shown) and the successor. POST: hand over
        (one transaction, audited) and, if asked, deactivate the leaver when nothing blocks it."""
        if not can(current_user, "hand_over", Action.CREATE):
            return deny("hand_over", Action.CREATE)
        leaver_id = request.values.get("leaver_id", type=int)
        leaver = db.session.get(User, leaver_id) if leaver_id else None
        status = 200
        if request.method == "POST" and leaver is not None:
            successor_id = request.form.get("successor_id", type=int)
            try:
                record = handover.hand_over(
                    db.session,
                    leaver,
                    db.session.get(User, successor_id) if successor_id else None,
                    current_user,
                    designated=request.form.get("designated") == "1",
                    note=request.form.get("note"),
                )
                db.session.commit()
            except (handover.HandOverError, StaleStateError) as exc:
                db.session.rollback()
                audit.record_now(
                    AuditAction.REFUSED, entity="hand_over", entity_id=None, detail=str(exc)
                )
                flash(str(exc), "error")
                status = 409 if isinstance(exc, StaleStateError) else 400
            else:
                flash(
                    _(
                        "Handed over: %(r)d receivables, %(c)d cases, %(t)d tasks.",
                        r=record.receivables,
                        c=record.cases,
                        t=record.tasks,
                    ),
                    "success",
                )
                return redirect(url_for(".handover_view", leaver_id=leaver.id), code=303)
        users = db.session.scalars(
            select(User).where(User.active.is_(True)).order_by(User.display_name)
        ).all()
        return (
            self.render(
                "admin/hand_over.html",
                leaver=leaver,
                users=users,
                items=handover.open_items(db.session, leaver.id) if leaver else None,
                blockers=handover.deactivation_blockers(db.session, leaver) if leaver else [],
                today=datetime.now(SHANGHAI).date(),
            ),
            status,
        )


def user_holds(view, context, model, name):
    """The user record's cell: the holds in force (Art.26), or nothing."""
    rows = holds.active_holds(db.session, model.id)
    if not rows:
        return ""
    return Markup("<br>").join(escape(f"{h.kind.label}（{h.finding}）") for h in rows)


def hand_over_link(view, context, model, name):
    """The user record's link to the hand-over form for this user (Art.7)."""
    if not can(current_user, "hand_over", Action.CREATE):
        return ""
    return Markup('<a href="{}">{}</a>').format(
        url_for("hand_over.handover_view", leaver_id=model.id), _("Hand over to a successor")
    )
