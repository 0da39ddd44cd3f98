"""Evidence pages (SPEC §3.4): upload files to a case, download, verify, soft delete.

Every endpoint checks the permission table for ``evidence_document`` and the row scope: a case
or document outside the user's scope answers 404, as if it did not exist. Downloads are always
attachments, labelled ``nosniff`` and sandboxed, so nothing uploaded ever runs in the browser.
"""

from __future__ import annotations

import io

from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.case import CollectionCase
from backoffice.models.evidence import DocumentType, EvidenceDocument
from backoffice.models.writeoff import WriteOffApplication
from backoffice.permissions import Action, can, scope_filter
from backoffice.services import evidence
from backoffice.services.storage import TamperedError
from backoffice.views.base import attachment, deny

RESOURCE = evidence.RESOURCE
OWNERS = {"case": CollectionCase, "writeoff": WriteOffApplication}
MAX_FILES_PER_REQUEST = 20
IN_MEMORY_BYTES = 8 * 1024 * 1024


class EvidenceView(BaseView):
    """Upload and download endpoints; the list itself is ``EvidenceDocumentView``."""

    def is_visible(self) -> bool:
        return False  # reached from a case or from the evidence list, not from the menu

    def is_accessible(self) -> bool:
        return current_user.is_authenticated

    def inaccessible_callback(self, name, **kwargs):
        return deny(RESOURCE, Action.VIEW)

    # -- helpers -------------------------------------------------------------------------------

    def _require(self, action: Action) -> None:
        if not can(current_user, RESOURCE, action):
            deny(RESOURCE, action)

    def _owner(self, kind: str, owner_id: int):
        model = OWNERS.get(kind)
        if model is None:
            abort(404)
        owner = db.session.scalar(
            select(model).where(model.id == owner_id).where(scope_filter(model, current_user))
        )
        if owner is None:
            abort(404)
        return owner

    def _document(self, doc_id: int) -> EvidenceDocument:
        doc = db.session.scalar(
            select(EvidenceDocument)
            .where(EvidenceDocument.id == doc_id)
            .where(scope_filter(EvidenceDocument, current_user))
        )
        if doc is None:
            abort(404)
        return doc

    def _page(self, kind: str, owner, status: int = 200):
        column = EvidenceDocument.case_id if kind == "case" else EvidenceDocument.writeoff_id
        documents = db.session.scalars(
            select(EvidenceDocument)
            .where(column == owner.id)
            .where(scope_filter(EvidenceDocument, current_user))
            .order_by(EvidenceDocument.uploaded_at.desc(), EvidenceDocument.id.desc())
        ).all()
        # Art.22: a sealed case or write-off takes no new document and loses none; the page
        # offers no button the server would refuse.
        sealed = getattr(owner, "sealed_at", None) is not None
        return (
            self.render(
                "admin/evidence_list.html",
                kind=kind,
                owner=owner,
                documents=documents,
                doc_types=list(DocumentType),
                sealed=sealed,
                may_upload=not sealed and can(current_user, RESOURCE, Action.CREATE),
                may_verify=can(current_user, RESOURCE, Action.VERIFY),
                may_delete=not sealed and can(current_user, RESOURCE, Action.DELETE),
                max_mb=current_app.config["UPLOAD_MAX_BYTES"] / 1024 / 1024,
            ),
            status,
        )

    # -- endpoints -----------------------------------------------------------------------------

    @expose("/")
    def index(self):
        return redirect(url_for("evidence_document.index_view"))

    @expose("/<kind>/<int:owner_id>/", methods=("GET", "POST"))
    def owner_page(self, kind: str, owner_id: int):
        """A case's (or write-off's) evidence, with the upload form (one or many files)."""
        self._require(Action.VIEW)
        if request.method == "POST":
            self._require(Action.CREATE)
        owner = self._owner(kind, owner_id)
        if request.method == "GET":
            return self._page(kind, owner)

        files = [f for f in request.files.getlist("files") if f and (f.filename or f.stream)]
        if not files:
            flash(_("Choose at least one file to upload."), "error")
            return self._page(kind, owner, 400)
        if len(files) > MAX_FILES_PER_REQUEST:
            flash(_("Upload at most %(n)s files at a time.", n=MAX_FILES_PER_REQUEST), "error")
            return self._page(kind, owner, 400)
        previous = request.form.get("previous_version_id", type=int)
        if previous is not None:
            self._document(previous)  # must be visible to the user
        refused = 0
        for f in files:
            try:
                doc = evidence.upload(
                    db.session,
                    case_id=owner.id if kind == "case" else None,
                    writeoff_id=owner.id if kind == "writeoff" else None,
                    doc_type=request.form.get("doc_type", ""),
                    filename=f.filename,
                    stream=f.stream,
                    user=current_user,
                    previous_version_id=previous,
                    note=request.form.get("note") or None,
                )
                db.session.commit()
                flash(_("Uploaded %(name)s.", name=doc.original_name), "success")
            except evidence.UploadRejected as exc:
                db.session.rollback()
                refused += 1
                flash(_("%(name)s was refused: %(reason)s", name=f.filename, reason=exc), "error")
            except PermissionError:
                db.session.rollback()
                return deny(RESOURCE, Action.CREATE)
        if refused:
            return self._page(kind, owner, 400)
        return redirect(url_for(".owner_page", kind=kind, owner_id=owner.id), code=303)

    @expose("/<int:doc_id>/download")
    def download(self, doc_id: int):
        """The file as an attachment, after its SHA-256 is checked (audited either way)."""
        self._require(Action.DOWNLOAD)
        doc = self._document(doc_id)
        try:
            data = evidence.open_verified(db.session, doc, current_user)
        except TamperedError:
            return (
                self.render("admin/evidence_tampered.html", doc=doc),
                409,
                {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"},
            )
        db.session.commit()
        if doc.size <= IN_MEMORY_BYTES:
            # Small files are served from memory, so no open file outlives a client that
            # never closes the response; larger ones stream (the WSGI server closes them).
            with data:
                data = io.BytesIO(data.read())
        response = attachment(data, doc.original_name, evidence.safe_content_type(doc.content_type))
        response.content_length = doc.size
        return response

    @expose("/<int:doc_id>/verify", methods=("POST",))
    def verify(self, doc_id: int):
        """Recompute the stored file's hash for legal staff and auditors."""
        self._require(Action.VERIFY)
        doc = self._document(doc_id)
        if evidence.verify(db.session, doc, current_user):
            flash(_("%(name)s is intact: its SHA-256 matches.", name=doc.original_name), "success")
        else:
            flash(
                _(
                    "%(name)s has been altered or is missing: its SHA-256 no longer matches. "
                    "An alert was written to the audit log.",
                    name=doc.original_name,
                ),
                "error",
            )
        return redirect(self._back(doc), code=303)

    @expose("/<int:doc_id>/delete", methods=("POST",))
    def delete(self, doc_id: int):
        """Soft delete: the document is marked deleted; row and bytes are kept."""
        self._require(Action.DELETE)
        doc = self._document(doc_id)
        if evidence.soft_delete(db.session, doc, current_user):
            db.session.commit()
            flash(_("%(name)s was deleted.", name=doc.original_name), "success")
        return redirect(self._back(doc), code=303)

    def _back(self, doc: EvidenceDocument) -> str:
        if doc.case_id is not None:
            return url_for(".owner_page", kind="case", owner_id=doc.case_id)
        if doc.writeoff_id is not None:
            return url_for(".owner_page", kind="writeoff", owner_id=doc.writeoff_id)
        return url_for("evidence_document.index_view")
