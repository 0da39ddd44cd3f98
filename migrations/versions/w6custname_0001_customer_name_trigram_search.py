"""Trigram index of customer names, for the search by any part of a name (issue 13)

The list search finds receivables by any part of their customer's name ("凯旋" finds
广州凯旋…). Without an index each search read all the customers' names: 50,000 of them at
8 ms on SQLite and 9–18 ms on PostgreSQL, the biggest part of a name search. Terms of three
characters or more are now looked up in a trigram index, like document numbers
(``w4perf0001``); shorter terms still scan the names.

- PostgreSQL: a ``pg_trgm`` GIN index on ``customer.name`` (``ix_customer_name_trgm``).
- SQLite: an FTS5 table ``fts_customer`` (tokenizer ``trigram``, external content) filled from
  the existing customers and kept in step by triggers on insert, update of the name, and
  delete. A SQLite without the trigram tokenizer gets none (the search scans, as before).

NOTE for later migrations: a SQLite batch rebuild of ``customer`` drops these triggers and must
create them again (``tests/views/test_number_search.py`` fails if they are missing).

Revision ID: w6custname_0001
Revises: w5i15fix_0001
Create Date: 2026-12-01 01:00:00
"""
from alembic import op
from sqlalchemy import text


revision = 'w6custname_0001'
down_revision = 'w5i15fix_0001'
branch_labels = None
depends_on = None

# Frozen: the table and column this revision indexes.
TABLE, COLUMN = 'customer', 'name'


def _sqlite_has_trigram(conn) -> bool:
    try:
        conn.execute(text("CREATE VIRTUAL TABLE temp.qq_trigram_probe USING fts5(x, tokenize='trigram')"))
    except Exception:  # noqa: BLE001 - an old SQLite: no FTS5 or no trigram tokenizer
        return False
    conn.execute(text('DROP TABLE temp.qq_trigram_probe'))
    return True


def upgrade():
    conn = op.get_bind()
    if conn.dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.execute(f'CREATE INDEX ix_{TABLE}_{COLUMN}_trgm ON {TABLE} '
                   f'USING gin ({COLUMN} gin_trgm_ops)')
    elif conn.dialect.name == 'sqlite' and _sqlite_has_trigram(conn):
        fts = f'fts_{TABLE}'
        conn.execute(text(
            f"CREATE VIRTUAL TABLE {fts} USING fts5({COLUMN}, content='{TABLE}', "
            f"content_rowid='id', tokenize='trigram')"))
        conn.execute(text(
            f'CREATE TRIGGER {fts}_ai AFTER INSERT ON {TABLE} BEGIN '
            f'INSERT INTO {fts}(rowid, {COLUMN}) VALUES (new.id, new.{COLUMN}); END'))
        conn.execute(text(
            f'CREATE TRIGGER {fts}_ad AFTER DELETE ON {TABLE} BEGIN '
            f"INSERT INTO {fts}({fts}, rowid, {COLUMN}) VALUES ('delete', old.id, old.{COLUMN}); END"))
        conn.execute(text(
            f'CREATE TRIGGER {fts}_au AFTER UPDATE OF {COLUMN} ON {TABLE} BEGIN '
            f"INSERT INTO {fts}({fts}, rowid, {COLUMN}) VALUES ('delete', old.id, old.{COLUMN}); "
            f'INSERT INTO {fts}(rowid, {COLUMN}) VALUES (new.id, new.{COLUMN}); END'))
        conn.execute(text(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')"))


def downgrade():
    conn = op.get_bind()
    if conn.dialect.name == 'postgresql':
        op.execute(f'DROP INDEX IF EXISTS ix_{TABLE}_{COLUMN}_trgm')
    elif conn.dialect.name == 'sqlite':
        for suffix in ('ai', 'ad', 'au'):
            op.execute(f'DROP TRIGGER IF EXISTS fts_{TABLE}_{suffix}')
        op.execute(f'DROP TABLE IF EXISTS fts_{TABLE}')
