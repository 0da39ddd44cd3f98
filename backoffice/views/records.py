"""Read-only records: the archive and the audit log. Nobody edits them, not even admins."""

from __future__ import annotations

from backoffice.views.base import SecuredModelView


class ReadOnlyView(SecuredModelView):
    column_display_actions = True


class ArchiveRecordView(ReadOnlyView):
    column_list = ("archive_no", "year", "customer", "case", "amount", "sealed_at")
    column_searchable_list = ("archive_no",)
    column_filters = ("year", "amount")
    column_default_sort = ("archive_no", True)


class ArchiveItemView(ReadOnlyView):
    column_list = ("archive", "seq", "kind", "ref", "name", "sha256")


class AuditLogView(ReadOnlyView):
    column_list = ("seq", "at", "actor", "action", "entity", "entity_id", "ip", "detail")
    column_searchable_list = ("actor", "entity", "entity_id")
    column_filters = ("action", "entity", "at", "actor")
    column_default_sort = ("seq", True)
    column_details_list = (
        "seq",
        "at",
        "actor",
        "actor_id",
        "action",
        "entity",
        "entity_id",
        "before",
        "after",
        "detail",
        "ip",
        "prev_hash",
        "hash",
    )


class SettingView(SecuredModelView):
    column_list = ("key", "value", "note", "updated_at")
    # The base sorts by "id", which Setting (keyed by "key") lacks: the list answered 500.
    column_default_sort = ("key", False)
    # Flask-Admin leaves primary keys out of forms; without "key" a new setting was a 500.
    form_columns = ("key", "value", "note")
