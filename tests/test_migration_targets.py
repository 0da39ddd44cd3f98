"""Migration w4cost0001 (issue 12, Art.28–29): targets typed in before keep their valid data,
get a recognisable period mended, lose one that names no period, and count as approved."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from backoffice.extensions import db as _db
from tests.test_migrations import wave1  # noqa: F401 - the fixture

BEFORE = "w3confirm0001"


def test_old_targets_are_kept_mended_or_removed_and_new_bad_periods_refused(wave1):  # noqa: F811
    """'2026-10' and '2026' are kept, '2026-1' and '2025/3' become '2026-01' and '2025-03',
    'abcd' and '2026-13' are removed; all kept ones are approved; the check refuses 'abcd'."""
    upgrade(revision=BEFORE)
    with _db.engine.begin() as conn:
        company = conn.execute(text("SELECT id FROM company ORDER BY id LIMIT 1")).scalar()
        conn.execute(text("DELETE FROM target"))
        for n, period in enumerate(("2026-10", "2026", "2026-1", "2025/3", "abcd", "2026-13")):
            conn.execute(
                text(
                    "INSERT INTO target (company_id, sales_unit_id, period, base_amount,"
                    " created_at, updated_at) VALUES (:c, NULL, :p, :a, :t, :t)"
                ),
                {"c": company, "p": period, "a": 1000 + n, "t": "2026-01-01 00:00:00"},
            )
    upgrade()
    with _db.engine.connect() as conn:
        rows = conn.execute(text("SELECT period, status FROM target ORDER BY period")).all()
    assert sorted(rows) == [
        ("2025-03", "approved"),
        ("2026", "approved"),
        ("2026-01", "approved"),
        ("2026-10", "approved"),
    ]
    with pytest.raises(IntegrityError), _db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO target (company_id, period, base_amount, status, created_at,"
                " updated_at) VALUES (:c, 'abcd', 1, 'proposed', :t, :t)"
            ),
            {"c": company, "t": "2026-01-01 00:00:00"},
        )
