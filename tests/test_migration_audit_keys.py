"""Migration w2tamper0001 (issue 10) upgrades a database that already holds an audit trail
hashed without a key and an archive sealed before signed manifests."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from backoffice.models import AuditLog
from backoffice.services import audit, checkpoints
from tests import helpers

OLD_COLUMNS = (
    "seq",
    "at",
    "actor_id",
    "actor",
    "action",
    "entity",
    "entity_id",
    "before",
    "after",
    "detail",
    "ip",
    "prev_hash",
)


def _as_before_the_upgrade(db) -> None:
    """Re-hash every entry the way the code before issue 10 did (plain SHA-256, no key)."""
    table = AuditLog.__table__
    with db.engine.begin() as conn:
        prev = audit.GENESIS
        for row in conn.execute(select(table).order_by(table.c.seq)).all():
            data = {c: getattr(row, c) for c in OLD_COLUMNS} | {"prev_hash": prev}
            prev = audit.entry_hash(data)
            conn.execute(
                table.update()
                .where(table.c.id == row.id)
                .values(prev_hash=data["prev_hash"], hash=prev, key_id=None)
            )


def test_upgrade_keeps_old_entries_and_archives_verifiable(app, db):
    """Entries and an archive written before the upgrade survive it: the old entries verify
    unkeyed, new ones are keyed after them, and the archive is a version-1 manifest."""
    case = helpers.make_case()
    ids = {
        "c": case.id,
        "cu": case.customer_id,
        "co": case.company_id,
        "su": case.sales_unit_id,
        "h": "0" * 64,
        "at": "2025-12-31 00:00:00",
    }
    _as_before_the_upgrade(db)
    db.session.close()
    downgrade(revision="w2tamper0001-1")
    try:
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO archive_record (archive_no, case_id, customer_id, company_id,"
                    " sales_unit_id, year, amount, manifest_sha256, sealed_at) VALUES"
                    " ('DA2025-00001', :c, :cu, :co, :su, 2025, 100, :h, :at)"
                ),
                ids,
            )
    finally:
        upgrade()
    old = db.session.scalar(select(AuditLog.seq).order_by(AuditLog.seq.desc()).limit(1))
    assert old > 0 and audit.verify_chain(db.session) == []
    version = db.session.execute(text("SELECT manifest_version FROM archive_record")).scalar()
    assert version == 1
    helpers.make_company()  # after the upgrade: keyed entries follow the unkeyed ones
    keys = dict(db.session.execute(select(AuditLog.seq, AuditLog.key_id)).all())
    assert keys[old] is None and keys[old + 1] is not None
    checkpoints.write("after upgrade")
    assert audit.verify_chain(db.session) == []
