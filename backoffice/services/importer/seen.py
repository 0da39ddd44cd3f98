"""The document or payment numbers an import has seen so far, for its duplicate check.

Kept in a temporary table on the run's own connection rather than in a Python dict, so a
million-row file does not hold a million keys in memory (issue 13: peak memory flat). One
look-up and one insert per chunk; the table lives in the import's transaction and is emptied at
the start and the end of each run.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

_TABLE = "qq_import_seen"
_CREATE = text(f"CREATE TEMP TABLE IF NOT EXISTS {_TABLE} (k TEXT PRIMARY KEY, line INTEGER)")
_CLEAR = text(f"DELETE FROM {_TABLE}")  # noqa: S608 - a constant name


def _mark(conn) -> str:
    """The driver's own placeholder: the keys go straight to it (SQLAlchemy's per-row
    parameter handling was a tenth of an import)."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def key_text(key: tuple) -> str:
    """One string per (company, number) key; a company as written starts with "?"."""
    company, number = key
    if isinstance(company, tuple):
        return f"?{company[1]}\x1f{number}"
    return f"{company}\x1f{number}"


class SeenKeys:
    def __init__(self, session: Session):
        self.session = session
        self.ready = False

    def _connection(self):
        conn = self.session.connection()
        if not self.ready:
            conn.execute(_CREATE)
            conn.execute(_CLEAR)
            self.ready = True
        return conn

    def first_lines(self, keys: list[str]) -> dict[str, int]:
        """The line each of ``keys`` was first seen on, for those seen before."""
        if not keys:
            return {}
        conn = self._connection()
        mark = _mark(conn)
        found: dict[str, int] = {}
        for start in range(0, len(keys), 500):
            # IN with the values, not "= ANY(%s)" with one array: a temporary table has no
            # statistics, and PostgreSQL's generic plan for an array parameter compared each
            # row with every key (an import of 100k rows took minutes).
            part = keys[start : start + 500]
            sql = f"SELECT k, line FROM {_TABLE} WHERE k IN ({', '.join([mark] * len(part))})"  # noqa: S608
            found.update(conn.exec_driver_sql(sql, tuple(part)).all())
        return found

    def add(self, first: dict[str, int]) -> None:
        """Remember keys seen for the first time, with their lines."""
        if first:
            conn = self._connection()
            mark = _mark(conn)
            conn.exec_driver_sql(
                f"INSERT INTO {_TABLE} (k, line) VALUES ({mark}, {mark})",  # noqa: S608
                list(first.items()),
            )

    def clear(self) -> None:
        if self.ready:
            self.session.connection().execute(_CLEAR)
