"""``column IN (values)`` for an import chunk's look-ups (issue 13).

A chunk asks for up to a thousand numbers or codes at once. As ``IN (…)`` that is a statement
with a thousand parameters, a different text for every chunk, which psycopg parses again each
time (a tenth of an import on PostgreSQL). There the look-up is ``column = ANY(%s)`` with one
array parameter instead: one statement text for the whole run. SQLite keeps ``IN``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ARRAY, any_, bindparam
from sqlalchemy.orm import Session


def among(session: Session, column: Any, values: Iterable[Any]) -> Any:
    """The condition ``column`` is one of ``values``."""
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)
