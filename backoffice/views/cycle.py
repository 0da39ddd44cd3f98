"""Calendar, monthly cycle, tasks and notifications, jobs (SPEC §3.2)."""

from __future__ import annotations

from backoffice.views.base import SecuredModelView


class CalendarYearView(SecuredModelView):
    column_list = ("year", "source", "note")
    column_default_sort = ("year", True)
    form_columns = ("year", "source", "note")


class CalendarDayView(SecuredModelView):
    column_list = ("day", "is_workday", "name")
    column_filters = ("day", "is_workday")
    column_default_sort = ("day", False)
    form_columns = ("day", "is_workday", "name")


class MonthlyRunView(SecuredModelView):
    column_list = ("period", "as_of", "dispatch_date", "form_date", "finished_at")
    column_default_sort = ("period", True)


class MonthlyReportView(SecuredModelView):
    column_list = ("period", "sales_unit", "line_count", "total_overdue", "created_at")
    column_filters = ("period", "sales_unit")
    column_default_sort = ("period", True)


class ConfirmationFormView(SecuredModelView):
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


class StatementView(SecuredModelView):
    column_list = ("period", "customer", "total_outstanding", "created_at")
    column_filters = ("period",)
    column_default_sort = ("period", True)


class TaskView(SecuredModelView):
    column_list = ("kind", "title", "assignee", "due_on", "done_at")
    column_filters = ("kind", "due_on", "done_at")
    column_default_sort = ("due_on", False)


class NotificationView(SecuredModelView):
    column_list = ("created_at", "title", "body", "read_at")
    column_default_sort = ("created_at", True)


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
