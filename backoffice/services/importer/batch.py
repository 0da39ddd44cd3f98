"""The import batch (SPEC §3.1): create it, run it on a file or on records, record the outcome.

Every run leaves an ``ImportBatch`` with counts and the full report. All ledger changes and the
batch's final counts are committed together, or not at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from backoffice.models.base import utcnow
from backoffice.models.receivable import ImportBatch, ImportKind, ImportStatus
from backoffice.services.audit_key import canonical
from backoffice.services.importer.core import Progress, Run
from backoffice.services.importer.headers import SYNONYMS, find_header
from backoffice.services.importer.report import REASONS, Issue, Outcome
from backoffice.services.importer.source import FileSource, Reread, records
from backoffice.services.spreadsheet import HEADER_SCAN_ROWS, SpreadsheetError
from backoffice.services.textfile import FileRefused


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def create_batch(
    session: Session,
    *,
    kind: ImportKind | str,
    path: str | Path | None,
    filename: str,
    dry_run: bool = False,
    valid_only: bool = False,
    company_code: str | None = None,
    user_id: int | None = None,
    storage_key: str | None = None,
    sha256: str | None = None,
) -> ImportBatch:
    """Record a pending import of the file at ``path`` and commit it. Changes no ledger row.

    ``sha256``: the digest if the caller knows it; "" to have the run fill it in as it reads
    the file (so the file is read once)."""
    batch = ImportBatch(
        kind=ImportKind(kind),
        filename=filename[:255],
        sha256=file_sha256(path) if sha256 is None else sha256,
        storage_key=storage_key,
        dry_run=dry_run,
        valid_only=valid_only,
        user_id=user_id,
        status=ImportStatus.PENDING,
        report={"options": {"company": company_code}},
    )
    session.add(batch)
    session.commit()
    return batch


def import_file(
    session: Session,
    path: str | Path,
    kind: ImportKind | str,
    *,
    filename: str | None = None,
    dry_run: bool = False,
    valid_only: bool = False,
    company_code: str | None = None,
    user_id: int | None = None,
    progress: Progress | None = None,
) -> ImportBatch:
    """Import ``path`` now (CLI and tests): ``create_batch`` then ``run_batch``.

    Side effects: one ImportBatch row always; ledger rows only when the run is applied.
    Idempotent: running the same file again changes no ledger row. The file is read once (a
    CSV's SHA-256 is taken as its rows are read).
    """
    csv_like = Path(filename or path).suffix.lower() in (".csv", ".txt")
    batch = create_batch(
        session,
        kind=kind,
        path=path,
        filename=filename or Path(path).name,
        dry_run=dry_run,
        valid_only=valid_only,
        company_code=company_code,
        user_id=user_id,
        sha256="" if csv_like else None,
    )
    return run_batch(session, batch.id, path, progress=progress)


def import_records(
    session: Session,
    kind: ImportKind | str,
    items: Iterable[Mapping[str, Any]],
    *,
    source: str = "records",
    dry_run: bool = False,
    valid_only: bool = False,
    company_code: str | None = None,
    user_id: int | None = None,
    progress: Progress | None = None,
) -> ImportBatch:
    """Import items already parsed (an API's JSON): dicts keyed by field name (``doc_no``,
    ``amount``, ``due_date``…, see ``headers.SYNONYMS``), through the same rules, checks,
    report and audit as a file. Line ``n`` of the report is the n-th item (from 1).

    The items are kept in memory (an API request's body already is); the batch's SHA-256 is
    that of their canonical JSON."""
    items = [dict(item) for item in items]
    fields = SYNONYMS[ImportKind(kind)]
    digest = hashlib.sha256(canonical(items)).hexdigest()
    batch = create_batch(session, kind=kind, path=None, filename=source, dry_run=dry_run,
                         valid_only=valid_only, company_code=company_code, user_id=user_id,
                         sha256=digest)  # fmt: skip

    def body(run: Run) -> ImportStatus:
        present = [f for f in fields if any(f in item for item in items)]
        run.columns = {f: i for i, f in enumerate(present)}
        run.headers = {f: f for f in present}
        run.outcome.columns = dict(run.headers)
        run.outcome.ignored_columns = sorted({k for item in items for k in item} - set(fields))

        def read(skip: set[int]):
            for line, item in enumerate(items, start=1):
                if line not in skip:
                    yield line, {f: item.get(f) for f in present}

        return run.run(read)

    return _run(session, batch.id, body, progress)


def run_batch(
    session: Session, batch_id: int, path: str | Path, progress: Progress | None = None
) -> ImportBatch:
    """Check and (unless rejected or a dry run) apply the file of batch ``batch_id``.

    All ledger changes and the batch's final counts are committed together, or not at all.
    A hostile or unreadable file ends as FAILED with its message; an unexpected error rolls
    back, marks the batch FAILED and is raised again (so a job fails loudly).
    """
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise LookupError(f"import batch {batch_id} does not exist")
    filename = batch.filename
    encoding: list[str | None] = [None]
    sources: list[FileSource] = []

    def body(run: Run) -> ImportStatus:
        cfg = current_app.config
        source = FileSource(path, filename, cfg["IMPORT_MAX_BYTES"],
                            cfg.get("IMPORT_MAX_UNCOMPRESSED_BYTES"), encoding[0])  # fmt: skip
        sources.append(source)
        rows = source.rows()
        header, scanned = find_header(run.session, run.kind, rows)
        if header is None:
            run._error(None, None, None, "no_header", rows=HEADER_SCAN_ROWS)
            run.outcome.fatal = REASONS["no_header"] % {"rows": HEADER_SCAN_ROWS}
            return ImportStatus.REJECTED
        run.outcome.header_line = header.line
        run.columns, run.headers = header.columns, header.headers
        run.outcome.columns = dict(header.headers)
        run.outcome.ignored_columns = header.ignored
        if header.missing:
            names = ", ".join(f"{SYNONYMS[run.kind][f][0]} ({f})" for f in header.missing)
            run._error(header.line, None, None, "missing_columns", columns=names)
            run.outcome.fatal = REASONS["missing_columns"] % {"columns": names}
            return ImportStatus.REJECTED
        return run.run(records(source, run, _chain(scanned, rows), header), source.fraction)

    while True:
        try:
            batch = _run(session, batch_id, body, progress)
        except Reread as again:  # the first block chose the wrong encoding (rare)
            encoding[0] = again.encoding
            continue
        break
    if not batch.sha256:  # import_file left it to the read; a stopped read did not finish it
        batch.sha256 = (sources and sources[-1].sha256) or file_sha256(path)
        session.commit()
    return batch


def _chain(first: list, rest):
    yield from first
    yield from rest


def _run(session: Session, batch_id: int, body: Any, progress: Progress | None) -> ImportBatch:
    batch = session.get(ImportBatch, batch_id)
    kind = batch.kind
    options = dict((batch.report or {}).get("options") or {})
    options.update(dry_run=batch.dry_run, valid_only=batch.valid_only)
    session.commit()
    run = Run(session, kind, batch_id, options, progress or (lambda *a: None))
    try:
        run.load_reference_data()
        status = body(run)
    except Reread as again:
        session.rollback()
        if getattr(body, "retried", False):  # read twice, undecodable both times: refuse
            exc = SpreadsheetError(f"cannot decode the file as {again.encoding}")
            return _refused(session, batch_id, run, options, exc)
        body.retried = True
        raise
    except (SpreadsheetError, FileRefused) as exc:
        return _refused(session, batch_id, run, options, exc)
    except Exception as exc:
        session.rollback()
        run.outcome.fatal = f"{type(exc).__name__}: {exc}"[:2000]
        _finish(session, batch_id, run.outcome, options, ImportStatus.FAILED)
        session.commit()
        raise
    _finish(session, batch_id, run.outcome, options, status)
    session.commit()
    return session.get(ImportBatch, batch_id)


def _refused(session: Session, batch_id: int, run: Run, options: dict, exc: Exception):
    """A refused file is a finished run (the job does not fail, so RQ does not retry it)."""
    session.rollback()
    run.outcome.fatal = str(exc)
    code, params = getattr(exc, "code", "file"), getattr(exc, "params", {"detail": str(exc)})
    run.outcome.errors.append(Issue(None, None, None, None, code, params))
    _finish(session, batch_id, run.outcome, options, ImportStatus.FAILED)
    session.commit()
    return session.get(ImportBatch, batch_id)


def _finish(
    session: Session, batch_id: int, outcome: Outcome, options: dict, status: ImportStatus
) -> None:
    batch = session.get(ImportBatch, batch_id)
    batch.status = status
    batch.rows_total = outcome.rows_total
    batch.rows_created = outcome.created
    batch.rows_updated = outcome.updated
    batch.rows_unchanged = outcome.unchanged
    batch.rows_error = len(outcome.error_lines)
    batch.report = outcome.report(options)
    batch.finished_at = utcnow()
