"""SQLite's trigram search index filled once per chunk, not once per row (issue 13).

On SQLite the document-number search is an FTS5 table kept in step by triggers
(``substring_search``). Its insert trigger runs one statement per inserted row; measured on a
chunked insert of 50,000 receivables, it costs three quarters of the insert (the same rows
went in 3.4 × faster when the search index was filled once per chunk with ``INSERT … SELECT``).

So an import's bulk insert, inside its transaction, drops the table's insert trigger, inserts
the chunk, adds the chunk's rows to the search index in one statement, and creates the trigger
again from its stored SQL, all before any other statement runs on the connection. SQLite has one
writer at a time and its DDL is transactional: no other connection can insert while the
trigger is away, readers see the committed schema, and a rolled-back import takes the drop
back with it. Outside a transaction (where the DDL would commit at once) the trigger is left
alone and the insert is plain.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table

from backoffice.services import substring_search


def _insert_trigger(conn: Connection, table: Table) -> tuple[str, str] | None:
    """(name, CREATE statement) of the table's FTS insert trigger, when it may be lifted."""
    if conn.dialect.name != "sqlite" or table.name not in substring_search.INDEXED:
        return None
    if not conn.connection.driver_connection.in_transaction:
        return None
    name = f"{substring_search.fts_table(table.name)}_ai"
    found = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ? AND tbl_name = ?",
        (name, table.name),
    ).first()
    return None if found is None else (name, found[0])


def insert(conn: Connection, table: Table, sql: str, params: list[tuple], before: int) -> None:
    """``executemany(sql, params)`` into ``table``, whose ids so far are all ≤ ``before``."""
    trigger = _insert_trigger(conn, table)
    if trigger is None:
        conn.exec_driver_sql(sql, params)
        return
    name, create = trigger
    fts = substring_search.fts_table(table.name)
    cols = ", ".join(substring_search.INDEXED[table.name])
    conn.exec_driver_sql(f"DROP TRIGGER {name}")
    try:
        conn.exec_driver_sql(sql, params)
        conn.exec_driver_sql(
            f"INSERT INTO {fts} (rowid, {cols}) "  # noqa: S608 - table and column names of code
            f"SELECT id, {cols} FROM {table.name} WHERE id > ?",
            (before,),
        )
    finally:
        conn.exec_driver_sql(create)
