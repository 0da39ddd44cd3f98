"""Calendar, monthly cycle, tasks and notifications, jobs (SPEC §3.2)."""

from __future__ import annotations

from flask import redirect, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from backoffice.extensions import db
from backoffice.models.base import utcnow
from backoffice.models.notification import Notification
from backoffice.permissions import Action
from backoffice.views.base import SecuredModelView
from backoffice.views.confirmation import ConfirmationPages
from backoffice.views.confirmation_split import SplitPages
from backoffice.views.cycle_files import ReportDownloads, StatementDownloads
from backoffice.views.doors import safe_target


class CalendarYearView(SecuredModelView):
    column_list = ("year", "source", "note")
    column_default_sort = ("year", True)
    form_columns = ("year", "source", "note")


class CalendarDayView(SecuredModelView):
    column_list = ("day", "is_workday", "name")
    column_filters = ("day", "is_workday")
    column_default_sort = ("day", False)
    form_columns = ("day", "is_workday", "name")


def _finished(view, context, model, name):
    """Art.12: a run is finished once every statement exists; until then it says so, where a
    blank looked like a run whose jobs had all ended without recording it."""
    from backoffice.services.formatting import local_datetime

    return local_datetime(model.finished_at) if model.finished_at else _("Not finished")


class MonthlyRunView(SecuredModelView):
    column_list = ("period", "as_of", "dispatch_date", "form_date", "finished_at")
    column_default_sort = ("period", True)
    column_formatters = {"finished_at": _finished}
    column_formatters_detail = column_formatters


class MonthlyReportView(ReportDownloads, SecuredModelView):
    column_list = (
        "period",
        "sales_unit",
        "line_count",
        "total_overdue",
        "interest_total",
        "penalty_interest_total",
        "damages_total",
        "created_at",
        "files",
        "send_again",
    )
    column_filters = ("period", "sales_unit")
    column_default_sort = ("period", True)


class ConfirmationFormView(SplitPages, ConfirmationPages, SecuredModelView):
    """逾期账款确认表: the list links each form's answer, routing and PDF pages (Art.13–15)."""

    column_list = ("period", "sales_unit", "issued_on", "answer_due", "status", "routing_due")
    column_filters = ("period", "status", "sales_unit")
    column_default_sort = ("period", True)


class ConfirmationLineView(SecuredModelView):
    column_list = (
        "form",
        "receivable",
        "customer",
        "outstanding_at_close",
        "overdue_days",
        "reason_class",
        "sub_reason",
        "estimated_recoverable",
        "expected_date",
        "route",
    )
    column_filters = ("reason_class", "route")


class OverdueReasonView(SecuredModelView):
    column_list = ("reason_class", "label", "route_hint", "active")
    column_filters = ("reason_class", "active")


class StatementView(StatementDownloads, SecuredModelView):
    column_list = ("period", "customer", "total_outstanding", "created_at", "files")
    column_filters = ("period",)
    column_default_sort = ("period", True)


class TaskView(SecuredModelView):
    column_list = ("kind", "title", "assignee", "due_on", "done_at")
    column_filters = ("kind", "due_on", "done_at")
    column_default_sort = ("due_on", False)


def _notification_title(view, context, model: Notification, name) -> Markup:
    """The title as a button that marks the notification read and opens its link."""
    text = (
        Markup("<strong>{}</strong>").format(model.title) if model.read_at is None else model.title
    )
    return Markup(
        '<form method="post" action="{}" class="d-inline">'
        '<input type="hidden" name="csrf_token" value="{}">'
        '<button type="submit" class="btn btn-link p-0 text-left">{}</button></form>'
    ).format(url_for(".read_view", row_id=model.id), generate_csrf(), text)


class NotificationView(SecuredModelView):
    column_list = ("created_at", "title", "body", "read_at")
    column_default_sort = ("created_at", True)
    column_formatters = {"title": _notification_title}

    @expose("/read/<int:row_id>", methods=("POST",))
    def read_view(self, row_id: int):
        """Mark one of the user's own notifications read (idempotent), then open its link."""
        note = self.get_one(str(row_id))  # scoped to the owner: 404 for anyone else's
        if note.read_at is None:
            note.read_at = utcnow()
            db.session.commit()
        # Only our own paths (the login ``next`` rule): a stored link never leaves the site.
        return redirect(safe_target(note.link, url_for(".index_view")), code=303)

    @action("mark_read", _l("Mark as read"))
    def action_mark_read(self, ids):
        """Mark the chosen notifications read; only the user's own are reachable (scope)."""
        rows = self.get_query().filter(Notification.id.in_([int(i) for i in ids]))
        for note in rows:
            note.read_at = note.read_at or utcnow()
        db.session.commit()

    action_mark_read._permission = Action.VIEW  # reading one's inbox changes nothing else


class JobRunView(SecuredModelView):
    column_list = (
        "enqueued_at",
        "name",
        "status",
        "progress",
        "message",
        "started_at",
        "ended_at",
        "enqueued_by",
    )
    column_filters = ("name", "status")
    column_default_sort = ("enqueued_at", True)
