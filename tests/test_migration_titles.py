"""Migration w5i11_0001 (issue 11): task and inbox titles stored with a raw article code
("Art.25") read 第二十五条 after the upgrade; other titles are left alone."""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import text

from backoffice.extensions import db as _db
from tests.test_migrations import wave1  # noqa: F401 - the fixture

BEFORE = "w4perf0001"
OLD = "HX2026-00001 责任认定（个人或单位责任，Art.25）"


def test_stored_titles_name_the_article_in_chinese(wave1):  # noqa: F811
    """A stored "…（个人或单位责任，Art.25）" title becomes "…（个人或单位责任，第二十五条）"."""
    upgrade(revision=BEFORE)
    with _db.engine.begin() as conn:
        company = conn.execute(text("SELECT id FROM company ORDER BY id LIMIT 1")).scalar()
        user = conn.execute(text('SELECT id FROM "user" ORDER BY id LIMIT 1')).scalar()
        for n, title in enumerate((OLD, "逾期账款确认表 2026-10 待答复")):
            conn.execute(
                text(
                    "INSERT INTO task (kind, title, subject_type, subject_id, created_at,"
                    " company_id) VALUES ('accountability', :title, 'qq_test', :n, :t, :c)"
                ),
                {"title": title, "n": n, "t": "2026-01-01 00:00:00", "c": company},
            )
            conn.execute(
                text(
                    "INSERT INTO notification (user_id, title, created_at) VALUES (:u, :title, :t)"
                ),
                {"u": user, "title": title, "t": "2026-01-01 00:00:00"},
            )
    upgrade()
    with _db.engine.connect() as conn:
        for table in ("task", "notification"):
            titles = set(conn.execute(text(f"SELECT title FROM {table}")).scalars())  # noqa: S608
            assert "HX2026-00001 责任认定（个人或单位责任，第二十五条）" in titles
            assert "逾期账款确认表 2026-10 待答复" in titles
            assert not any("Art." in t for t in titles)
