"""Small jobs for the job-machinery tests (importable by a worker subprocess via PYTHONPATH)."""

from __future__ import annotations

import os
import time

from rq import get_current_job
from sqlalchemy.exc import IntegrityError

from backoffice.extensions import db
from backoffice.models import Setting
from jobs import job, set_progress


@job
def add(a: int, b: int) -> dict:
    """Return the sum; reports progress half-way."""
    set_progress(50, "adding")
    return {"sum": a + b}


@job
def boom(message: str) -> None:
    """Always fail with ``message``."""
    raise RuntimeError(message)


@job
def sleepy(tag: str, steps: int, delay: float) -> dict:
    """Write one row per step, keyed ``sleepy-<tag>-<i>`` (unique), sleeping between steps.

    Idempotent by the primary key: a re-run skips the rows an earlier attempt wrote. Records
    its process id in the RQ job's meta so a test can kill it mid-run.
    """
    rq_job = get_current_job()
    if rq_job is not None:
        rq_job.meta["pid"] = os.getpid()
        rq_job.save_meta()
    written = 0
    for i in range(steps):
        db.session.add(Setting(key=f"sleepy-{tag}-{i}", value={"i": i, "pid": os.getpid()}))
        try:
            db.session.commit()
            written += 1
        except IntegrityError:  # written by an earlier, killed attempt
            db.session.rollback()
        set_progress(int(100 * (i + 1) / steps), f"step {i + 1} of {steps}")
        time.sleep(delay)
    return {"written": written}
