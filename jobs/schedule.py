"""What the scheduler starts on a given day (Asia/Shanghai).

Cron syntax cannot express Chinese holidays, so the decision is made here, in Python: each
entry looks at the date and returns the jobs due that day, with deterministic ids, so a
scheduler restarted mid-day enqueues nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from jobs import QUEUE_DEFAULT


@dataclass(frozen=True)
class Due:
    func: Callable[..., Any]
    args: tuple = ()
    job_id: str = ""
    queue: str = QUEUE_DEFAULT
    kwargs: dict = field(default_factory=dict)


def daily_audit_check(today: date) -> list[Due]:
    from jobs.maintenance import verify_audit_chain

    return [Due(verify_audit_chain, (), f"audit-verify:{today.isoformat()}")]


#: Each callable maps a day to the jobs due on it. Later capabilities add theirs here.
SCHEDULE: list[Callable[[date], list[Due]]] = [daily_audit_check]


def due_on(today: date) -> list[Due]:
    return [d for entry in SCHEDULE for d in entry(today)]
