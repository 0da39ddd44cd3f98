"""Figures for the home page, computed in SQL within the user's row scope."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import case, func, select

from backoffice.extensions import db
from backoffice.models.receivable import Receivable, ReceivableStatus
from backoffice.permissions import scope_filter


def dashboard_data(user: Any, as_of: date | None = None) -> dict[str, Any]:
    as_of = as_of or date.today()
    row = db.session.execute(
        select(
            func.coalesce(func.sum(Receivable.outstanding), 0),
            func.coalesce(
                func.sum(case((Receivable.due_date < as_of, Receivable.outstanding), else_=0)), 0
            ),
            func.count(),
        )
        .where(Receivable.status == ReceivableStatus.OPEN)
        .where(scope_filter(Receivable, user))
    ).one()
    return {"outstanding": row[0], "overdue": row[1], "open_count": row[2]}
