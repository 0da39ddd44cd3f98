"""Housekeeping jobs."""

from __future__ import annotations

from backoffice.extensions import db
from backoffice.services import audit
from jobs import job


@job
def verify_audit_chain() -> dict:
    """Check the audit hash chain (SPEC §3.8); fails, and so alerts, when it is broken.

    Read-only; safe to run any number of times.
    """
    problems = audit.verify_chain(db.session)
    if problems:
        first = problems[0]
        raise RuntimeError(f"audit chain broken at seq {first.seq}: {first.reason}")
    return {"intact": True}
