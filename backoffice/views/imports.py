"""The ERP import pages (SPEC §3.1): upload, progress bar, result with every bad row.

Uploading needs ``Action.IMPORT`` on ``receivable`` or ``payment`` (finance, admin). The file
is stored under a server-generated name and imported by an RQ job (``jobs.imports``); without
Redis (embedded test setups) the import runs inline in the request instead.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.job import JobRun
from backoffice.models.org import Company
from backoffice.models.receivable import ImportBatch, ImportKind, ImportStatus
from backoffice.permissions import Action, can
from backoffice.services import importer
from backoffice.views.base import deny

RESOURCES = {ImportKind.RECEIVABLES: "receivable", ImportKind.PAYMENTS: "payment"}
ALLOWED_SUFFIXES = (".xlsx", ".csv")
FINISHED = (ImportStatus.APPLIED, ImportStatus.CHECKED, ImportStatus.REJECTED, ImportStatus.FAILED)


def allowed_kinds(user: Any) -> list[ImportKind]:
    return [k for k in ImportKind if can(user, RESOURCES[k], Action.IMPORT)]


def display_filename(name: str) -> str:
    """The user's file name for display only (Chinese kept; no path, no control characters)."""
    base = re.split(r"[\\/]", name or "")[-1]
    return re.sub(r"[\x00-\x1f\x7f]", "", base).strip()[:200] or "upload"


def issue_text(issue: dict) -> str:
    """A report entry's reason in the user's language."""
    template = importer.REASONS.get(issue.get("code", ""))
    if template is None:
        return issue.get("message", "")
    params = issue.get("params") or {}
    return _(template, **params) if params else _(template)


class ImportView(BaseView):
    """Upload page, progress page (polls ``status``) and result page."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated

    def is_visible(self) -> bool:
        return current_user.is_authenticated and bool(allowed_kinds(current_user))

    def inaccessible_callback(self, name, **kwargs):
        return deny("receivable", Action.IMPORT)

    # -- upload ------------------------------------------------------------------------------

    @expose("/", methods=("GET", "POST"))
    def index(self):
        kinds = allowed_kinds(current_user)
        if not kinds:
            return deny("receivable", Action.IMPORT)
        if request.method == "POST":
            kind_value = request.form.get("kind", "")
            if kind_value not in {k.value for k in ImportKind}:
                abort(400)
            kind = ImportKind(kind_value)
            if kind not in kinds:
                return deny(RESOURCES[kind], Action.IMPORT)
            if not self._queue_ready():
                return self._upload_page(kinds, status=503)
            problem, batch = self._accept(kind)
            if problem:
                flash(problem, "error")
                return self._upload_page(kinds, status=400)
            return redirect(url_for(".progress", batch_id=batch.id))
        return self._upload_page(kinds)

    @staticmethod
    def _companies() -> list[Company]:
        """The companies the user may import into: their own, or every company."""
        query = select(Company).order_by(Company.code)
        if current_user.company_id is not None:
            query = query.where(Company.id == current_user.company_id)
        return list(db.session.scalars(query))

    def _queue_ready(self) -> bool:
        """With Redis configured, check it answers before anything is stored or recorded, so an
        unreachable queue leaves no pending batch behind (short timeouts: jobs.redis_connection).
        """
        if not current_app.config.get("REDIS_URL"):
            return True  # no Redis: the import runs in the request
        from jobs import QueueUnavailable, require_queue

        try:
            require_queue()
        except QueueUnavailable:
            current_app.logger.warning("import refused: Redis unreachable", exc_info=True)
            flash(
                _(
                    "The job queue cannot be reached, so the file was not imported and nothing "
                    "was saved. Try again in a few minutes; if it keeps failing, tell the "
                    "administrator."
                ),
                "error",
            )
            return False
        return True

    def _upload_page(self, kinds, status: int = 200):
        recent = db.session.scalars(
            select(ImportBatch).order_by(ImportBatch.id.desc()).limit(10)
        ).all()
        if not can(current_user, "import_batch", Action.VIEW):
            recent = [b for b in recent if b.user_id == current_user.id]
        return (
            self.render(
                "admin/import_upload.html",
                kinds=kinds,
                recent=recent,
                companies=self._companies(),
                chosen_company=request.form.get("company"),
                max_mb=current_app.config["IMPORT_MAX_BYTES"] // (1024 * 1024),
            ),
            status,
        )

    def _company_code(self) -> tuple[str | None, str | None]:
        """(problem, code): the company chosen for rows without a company column, as the CLI's
        ``--company``. A company-scoped user always imports into their own company."""
        companies = {c.code: c for c in self._companies()}
        code = (request.form.get("company") or "").strip()
        if not code:
            if current_user.company_id is not None or len(companies) == 1:
                return None, next(iter(companies), None)
            return None, None  # the file must name the company on every row
        if code not in companies:
            return _("Choose one of the listed companies."), None
        return None, code

    def _accept(self, kind: ImportKind) -> tuple[str | None, ImportBatch | None]:
        problem, company_code = self._company_code()
        if problem:
            return problem, None
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return _("Choose a file to import."), None
        filename = display_filename(upload.filename)
        suffix = Path(filename).suffix.lower()
        if suffix not in ALLOWED_SUFFIXES:
            return _("Only .xlsx and .csv files can be imported."), None
        limit = current_app.config["IMPORT_MAX_BYTES"]
        too_large = _("The file is larger than the limit of %(mb)s MB.", mb=limit >> 20)
        if request.content_length and request.content_length > limit + 1024 * 1024:
            return too_large, None
        from jobs.imports import upload_dir

        key = f"{uuid.uuid4().hex}{suffix}"  # never the user's name on disk
        path = upload_dir() / key
        size = 0
        digest = hashlib.sha256()  # hashed as it is stored: the import reads the file once
        with open(path, "wb") as out:
            while block := upload.stream.read(1 << 20):
                size += len(block)
                digest.update(block)
                if size > limit:
                    out.close()
                    path.unlink(missing_ok=True)
                    return _(
                        "The file is larger than the limit of %(mb)s MB.", mb=limit >> 20
                    ), None
                out.write(block)
        batch = importer.create_batch(
            db.session,
            kind=kind,
            path=path,
            filename=filename,
            dry_run=bool(request.form.get("dry_run")),
            valid_only=bool(request.form.get("valid_only")),
            company_code=company_code,
            user_id=current_user.id,
            storage_key=key,
            sha256=digest.hexdigest(),
        )
        if current_app.config.get("REDIS_URL"):
            from jobs.imports import enqueue_import

            enqueue_import(batch.id, user_id=current_user.id)
        else:  # no Redis (embedded tests): import now, in this request
            importer.run_batch(db.session, batch.id, path)
        return None, batch

    # -- progress and result -----------------------------------------------------------------

    def _batch(self, batch_id: int) -> ImportBatch:
        batch = db.session.get(ImportBatch, batch_id)
        if batch is None:
            abort(404)
        if batch.user_id != current_user.id and not can(current_user, "import_batch", Action.VIEW):
            deny("import_batch", Action.VIEW)
        return batch

    @expose("/<int:batch_id>/")
    def progress(self, batch_id: int):
        batch = self._batch(batch_id)
        if batch.status in FINISHED:
            return redirect(url_for(".result", batch_id=batch.id))
        return self.render("admin/import_progress.html", batch=batch, state=_state(batch))

    @expose("/<int:batch_id>/status.json")
    def status(self, batch_id: int):
        return jsonify(_state(self._batch(batch_id)))

    @expose("/<int:batch_id>/result/")
    def result(self, batch_id: int):
        batch = self._batch(batch_id)
        return self.render(
            "admin/import_result.html",
            batch=batch,
            report=batch.report or {},
            issue_text=issue_text,
            finished=batch.status in FINISHED,
        )


def _state(batch: ImportBatch) -> dict[str, Any]:
    """Status for the progress bar: the batch, its JobRun row, and live RQ meta if any."""
    from jobs.imports import job_id_for

    done = batch.status in FINISHED
    progress, message = (100, None) if done else (0, None)
    if not done:
        run = db.session.scalar(select(JobRun).where(JobRun.rq_job_id == job_id_for(batch.id)))
        if run is not None:
            progress, message = run.progress, run.message
        live = _live_meta(job_id_for(batch.id))
        if live.get("progress") is not None and live["progress"] > progress:
            progress, message = live["progress"], live.get("message") or message
    return {
        "id": batch.id,
        "status": batch.status.value,
        "label": str(batch.status.label),
        "done": done,
        "progress": int(progress),
        "message": message,
        "result_url": url_for(".result", batch_id=batch.id),
    }


def _live_meta(job_id: str) -> dict:
    if not current_app.config.get("REDIS_URL"):
        return {}
    from redis.exceptions import RedisError
    from rq.exceptions import NoSuchJobError
    from rq.job import Job
    from rq.serializers import JSONSerializer

    from jobs import redis_connection

    try:
        return Job.fetch(job_id, connection=redis_connection(), serializer=JSONSerializer).meta
    except (NoSuchJobError, RedisError):
        return {}
