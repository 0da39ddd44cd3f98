"""The app-wide answer to a request that lost a race (``transitions.StaleStateError``).

Pages that run a workflow step catch the error themselves and show their own page again with
the message and a 409. Any other path that meets it gets this one: the transaction is rolled
back (the loser writes nothing), a ``refused`` entry is audited, and a 409 page says what
happened, never a 500.
"""

from __future__ import annotations

from typing import Any

from flask import request

from backoffice.errors import render_error
from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.services import audit
from backoffice.services.transitions import StaleStateError


def conflict_refused(exc: StaleStateError) -> Any:
    db.session.rollback()
    audit.record_now(AuditAction.REFUSED, entity=request.endpoint, detail=str(exc)[:500])
    return render_error(409, str(exc))  # the common error page, inside the layout
