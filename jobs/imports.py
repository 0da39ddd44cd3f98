"""The ERP import as a background job (SPEC §3.1): the upload page enqueues ``run_import``."""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from rq import get_current_job

from backoffice.extensions import db
from backoffice.models.receivable import ImportBatch
from backoffice.services import checkpoints, dashboard_cache, importer
from jobs import QUEUE_IMPORTS, enqueue, job, set_progress

UPLOAD_SUBDIR = "imports"


def upload_dir() -> Path:
    """Where uploaded import files are kept (server-generated names only)."""
    path = Path(current_app.config["STORAGE_DIR"]) / UPLOAD_SUBDIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored_path(batch: ImportBatch) -> Path:
    if not batch.storage_key:
        raise LookupError(f"import batch {batch.id} has no stored file")
    path = (upload_dir() / batch.storage_key).resolve()
    if path.parent != upload_dir().resolve():  # a key is a bare generated name, never a path
        raise LookupError(f"import batch {batch.id} has an invalid storage key")
    return path


def job_id_for(batch_id: int) -> str:
    return f"import-{batch_id}"


def _progress(percent: int, message: str, in_transaction: bool) -> None:
    """Report progress without ever committing the import's open transaction."""
    if not in_transaction:
        set_progress(percent, message)  # commits the session: only between the passes
        return
    rq_job = get_current_job()
    if rq_job is not None:  # Redis only; the progress endpoint reads job.meta too
        rq_job.meta["progress"] = percent
        rq_job.meta["message"] = message
        rq_job.save_meta()


@job
def run_import(batch_id: int) -> dict:
    """Check and apply the stored file of ImportBatch ``batch_id``.

    Side effects: ledger rows (one transaction) and the batch's status, counts and report.
    Idempotent: re-running a batch re-imports the same file, which changes nothing more. A
    rejected or hostile file is a finished job with a report; an unexpected error fails it.
    """
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        raise LookupError(f"import batch {batch_id} does not exist")
    path = stored_path(batch)
    batch = importer.run_batch(db.session, batch_id, path, progress=_progress)
    checkpoints.after_batch(f"import batch {batch.id}")  # issue 10: anchor its entries
    dashboard_cache.refresh_all()  # issue 13: every scope's figures, in the background
    return {
        "batch_id": batch.id,
        "status": batch.status.value,
        "created": batch.rows_created,
        "updated": batch.rows_updated,
        "unchanged": batch.rows_unchanged,
        "errors": batch.rows_error,
    }


def enqueue_import(batch_id: int, user_id: int | None = None):
    """Put the import of batch ``batch_id`` on the imports queue; returns its JobRun."""
    return enqueue(
        run_import, batch_id, job_id=job_id_for(batch_id), queue=QUEUE_IMPORTS, user_id=user_id
    )
