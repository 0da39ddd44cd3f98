"""The year-end archive transfer as an RQ job (Art.22). Idempotent and crash-safe: one commit
per case, a case already archived is skipped (unique key), so a killed run re-runs cleanly."""

from __future__ import annotations

from backoffice.extensions import db
from backoffice.services import archive
from backoffice.services import balance_confirm_register as confirmations
from jobs import job, set_progress


@job
def year_end_archive(year: int) -> dict:
    """Archive and seal every case closed in ``year`` that is not archived yet."""
    result = archive.year_end_transfer(db.session, int(year), progress=set_progress)
    # Issue 15: the previous audit year's confirmation replies (answered during this year)
    # go to the archive too, once, as a hash-verified package.
    replies = confirmations.archive_replies(db.session, int(year) - 1)
    return {
        "year": result.year,
        "archived": len(result.archived),
        "skipped": result.skipped,
        "confirmations_archived": replies,
    }
