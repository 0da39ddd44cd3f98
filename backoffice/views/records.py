"""Read-only records: the archive and the audit log. Nobody edits them, not even admins.

The auditors' archive (SPEC §3.6, Art.22): archives are searched by year, customer (name
prefix), archive number and amount; each opens as a read-only case file (summary, manifest rows
with their SHA-256, document downloads), can be verified against its manifest from the browser,
and downloaded as a ZIP package (manifest.json, summary PDF, every document under its original
name). Every file served is checked against the manifest hash first, always as an attachment.
"""

from __future__ import annotations

import functools
import io
import json
import shutil
import tempfile
import zipfile

from flask import abort, url_for
from flask_admin import expose
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.labels import LABELS, RECORD_LABELS, record_label
from backoffice.models.archive import ArchiveItem, ArchiveRecord
from backoffice.models.audit import AuditAction
from backoffice.permissions import Action
from backoffice.services import archive, archive_summary, audit
from backoffice.services.storage import StorageError, get_storage
from backoffice.views.base import SecuredModelView, attachment, deny
from backoffice.views.fastlist import FastListMixin

ZIP_SPOOL_BYTES = 16 * 1024 * 1024  # packages larger than this are spooled to disk
IN_MEMORY_BYTES = 8 * 1024 * 1024  # files up to this size are served from memory


class ReadOnlyView(SecuredModelView):
    column_display_actions = True


def _zip_names(items: list[ArchiveItem]) -> dict[int, str]:
    """Each document's path inside the package: its original name, made unique if needed."""
    names: dict[int, str] = {}
    taken: set[str] = set()
    for item in items:
        if item.kind != "document":
            continue
        base = item.name.replace("/", "_").replace("\\", "_") or f"document-{item.seq}"
        name = f"documents/{base}"
        if name in taken:
            stem, dot, ext = base.rpartition(".")
            stem, ext = (stem, f".{ext}") if dot else (base, "")
            name = f"documents/{stem} ({item.seq}){ext}"
        taken.add(name)
        names[item.seq] = name
    return names


class ArchiveRecordView(FastListMixin, ReadOnlyView):
    """档案室: the sealed archives, searchable; each opens as a read-only case file."""

    column_list = ("archive_no", "year", "customer", "case", "amount", "sealed_at")
    # The search box: archive number (start), customer name (any part) or ERP code.
    prefix_search_columns = ("archive_no",)
    customer_prefix_search = True
    search_hint = _l("Archive number (start), customer name (any part) or ERP code")
    column_filters = ("year", "amount", "archive_no", "sealed_at")
    column_default_sort = ("archive_no", True)
    column_formatters = {
        "archive_no": lambda v, c, m, n: Markup('<a href="{}">{}</a>').format(
            url_for(".case_file", id=m.id), m.archive_no
        ),
    }

    def _record(self, id: int) -> ArchiveRecord:
        return self.get_one(str(id))  # row scope; 404 outside it

    def _require(self, action: Action) -> None:
        if not self.allowed(action):
            deny(self.resource, action)

    def _items(self, record: ArchiveRecord) -> list[ArchiveItem]:
        return list(
            db.session.scalars(
                select(ArchiveItem)
                .where(ArchiveItem.archive_id == record.id)
                .order_by(ArchiveItem.seq)
            )
        )

    def _file_page(self, record: ArchiveRecord, problems=None, status: int = 200):
        items = self._items(record)
        return (
            self.render(
                "admin/archive_file.html",
                record=record,
                items=items,
                # Each row named in words (证据材料, 催收记录 #20), as the summary PDF names it.
                words={row.seq: row for row in archive_summary.summary_rows(items)},
                problems=problems,
                may_download=self.allowed(Action.DOWNLOAD),
                may_verify=self.allowed(Action.VERIFY),
            ),
            status,
        )

    def _refused(self, record: ArchiveRecord, what: str, exc: StorageError):
        """A file whose bytes no longer match the manifest is never served (alert audited)."""
        db.session.rollback()
        audit.record_now(
            AuditAction.ALERT,
            entity=self.resource,
            entity_id=record.id,
            detail=f"{record.archive_no} {what}: download refused: {exc}",
        )
        return (
            self.render("admin/archive_tampered.html", record=record, what=what),
            409,
            {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"},
        )

    def _downloaded(self, record: ArchiveRecord, what: str) -> None:
        audit.record(
            db.session,
            AuditAction.DOWNLOAD,
            entity=self.resource,
            entity_id=record.id,
            detail=f"{record.archive_no} {what}",
        )
        db.session.commit()

    @expose("/file/<int:id>/")
    def case_file(self, id: int):
        """The sealed case file, read-only: summary, manifest rows with SHA-256, downloads."""
        return self._file_page(self._record(id))

    @expose("/file/<int:id>/verify", methods=("POST",))
    def verify(self, id: int):
        """Check the archive against its manifest; show "intact" or every mismatch."""
        self._require(Action.VERIFY)
        record = self._record(id)
        problems = archive.verify(db.session, record)
        if problems:
            audit.record_now(
                AuditAction.ALERT,
                entity=self.resource,
                entity_id=record.id,
                detail="verification failed: " + "; ".join(str(p) for p in problems),
            )
        return self._file_page(record, problems)

    @expose("/file/<int:id>/document/<int:seq>")
    def document(self, id: int, seq: int):
        """One archived document, served only if its bytes still match the manifest row."""
        self._require(Action.DOWNLOAD)
        record = self._record(id)
        item = db.session.scalar(
            select(ArchiveItem).where(
                ArchiveItem.archive_id == record.id,
                ArchiveItem.seq == seq,
                ArchiveItem.kind == "document",
            )
        )
        if item is None:
            abort(404)
        try:
            data = get_storage().read_verified((item.content or {}).get("storage_key"), item.sha256)
        except StorageError as exc:
            return self._refused(record, f"manifest row {item.seq} ({item.name})", exc)
        if (item.content or {}).get("size", IN_MEMORY_BYTES + 1) <= IN_MEMORY_BYTES:
            with data:
                data = io.BytesIO(data.read())
        self._downloaded(record, f"manifest row {item.seq} {item.name} sha256={item.sha256}")
        # The type is not trusted for rendering: attachment + nosniff whatever it is.
        return attachment(data, item.name, "application/octet-stream")

    @expose("/file/<int:id>/summary.pdf")
    def summary(self, id: int):
        """The case summary PDF, checked against its recorded SHA-256."""
        self._require(Action.DOWNLOAD)
        record = self._record(id)
        try:
            data = get_storage().read_verified(record.summary_pdf_key, record.summary_sha256)
        except (StorageError, TypeError) as exc:
            return self._refused(record, "summary PDF", StorageError(str(exc)))
        with data:
            data = io.BytesIO(data.read())  # a summary is a few pages
        self._downloaded(record, f"summary PDF sha256={record.summary_sha256}")
        return attachment(data, f"{record.archive_no}-summary.pdf", "application/pdf")

    @expose("/file/<int:id>/package.zip")
    def package(self, id: int):
        """The archive package: manifest.json (every row's hash and the manifest hash), the
        summary PDF and every document under its original name. Refused (409, alert) if any
        file no longer matches the manifest. Audited as a download."""
        self._require(Action.DOWNLOAD)
        record = self._record(id)
        items = self._items(record)
        storage = get_storage()
        names = _zip_names(items)
        manifest = {
            "archive_no": record.archive_no,
            "year": record.year,
            "case_no": record.case.case_no if record.case else None,
            "customer": record.customer.name if record.customer else None,
            "amount": str(record.amount),
            "sealed_at": record.sealed_at.isoformat() if record.sealed_at else None,
            "manifest_sha256": record.manifest_sha256,
            # Issue 10: the signed part (record fields, audit checkpoint) and its HMAC.
            "manifest_version": record.manifest_version,
            "manifest": record.manifest,
            "manifest_key_id": record.manifest_key_id,
            "manifest_sig": record.manifest_sig,
            "summary_pdf": {"path": "summary.pdf", "sha256": record.summary_sha256},
            "items": [
                {
                    "seq": i.seq,
                    "kind": i.kind,
                    "ref": i.ref,
                    "name": i.name,
                    "sha256": i.sha256,
                    **({"path": names[i.seq]} if i.seq in names else {"content": i.content}),
                }
                for i in items
            ],
        }
        what = "manifest"
        out = tempfile.SpooledTemporaryFile(max_size=ZIP_SPOOL_BYTES)  # noqa: SIM115 - served
        try:
            # Non-ASCII member names are written with the UTF-8 flag (bit 11) by zipfile.
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
                z.writestr(
                    "manifest.json",
                    json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True),
                )
                what = "summary PDF"
                summary = storage.read_verified(record.summary_pdf_key, record.summary_sha256)
                with summary as src, z.open("summary.pdf", "w") as dst:
                    shutil.copyfileobj(src, dst)
                for item in items:
                    if item.seq not in names:
                        continue
                    what = f"manifest row {item.seq} ({item.name})"
                    key = (item.content or {}).get("storage_key")
                    document = storage.read_verified(key, item.sha256)
                    with document as src, z.open(names[item.seq], "w", force_zip64=True) as dst:
                        shutil.copyfileobj(src, dst)
        except (StorageError, TypeError) as exc:
            out.close()
            return self._refused(record, what, StorageError(str(exc)))
        if out.tell() <= IN_MEMORY_BYTES:
            # Small packages are served from memory, so no open file outlives a client that
            # never closes the response; larger ones stream (the WSGI server closes them).
            with out:
                out.seek(0)
                out = io.BytesIO(out.read())
        out.seek(0)
        self._downloaded(record, f"package ({len(names)} document(s))")
        return attachment(out, f"{record.archive_no}.zip", "application/zip")


class ArchiveItemView(ReadOnlyView):
    column_list = ("archive", "seq", "kind", "ref", "name", "sha256")
    column_searchable_list = ("name", "sha256")
    # The archive number opens the sealed case file, where documents are downloaded verified.
    column_formatters = {
        "archive": lambda v, c, m, n: Markup('<a href="{}">{}</a>').format(
            url_for("archive_record.case_file", id=m.archive_id), m.archive.archive_no
        ),
    }


def _audit_action(view, context, model, name):
    """The action's label (更新, 登录…); an action this version does not know stays as stored."""
    try:
        return AuditAction(model.action).label
    except ValueError:
        return model.action


def _audit_entity(view, context, model, name):
    """What kind of record the entry is about, in words (用户, 清收案件…): the record's label,
    else its menu name; a name this version does not know stays as stored."""
    if model.entity in RECORD_LABELS or model.entity in LABELS:
        return record_label(model.entity)
    return _menu_names().get(model.entity, model.entity)


@functools.cache
def _menu_names() -> dict:
    """Endpoint → menu name (lazy strings), built once instead of for every row."""
    from backoffice.views import REGISTRY  # the registry imports this module

    return {entry.endpoint: entry.name for entry in REGISTRY}


class AuditLogView(ReadOnlyView):
    column_list = ("seq", "at", "actor", "action", "entity", "entity_id", "ip", "detail")
    column_formatters = {"action": _audit_action, "entity": _audit_entity}
    column_formatters_detail = {"action": _audit_action, "entity": _audit_entity}
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
        "key_id",
    )


class SettingView(SecuredModelView):
    column_list = ("key", "value", "note", "updated_at")
    # The base sorts by "id", which Setting (keyed by "key") lacks: the list answered 500.
    column_default_sort = ("key", False)
    # Flask-Admin leaves primary keys out of forms; without "key" a new setting was a 500.
    form_columns = ("key", "value", "note")
