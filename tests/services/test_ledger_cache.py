"""The ledger version a request remembers, and the settings cached against it (issue 13)."""

from __future__ import annotations

from sqlalchemy import event

from backoffice.models.setting import Setting
from backoffice.services import credit, ledger_cache
from tests import helpers


def _statements(db, work):
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        result = work()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return result, seen


def test_remembered_version_costs_no_statement_until_the_request_writes(app, db):
    """A request reuses the token it read, and reads it afresh once it has written a ledger row."""
    helpers.make_customer()
    with app.test_request_context():
        token = ledger_cache.ledger_version(db.session)
        ledger_cache.remember_version(token)
        again, seen = _statements(db, lambda: ledger_cache.ledger_version(db.session))
        assert again == token and seen == []
        helpers.make_customer()  # a ledger write in the same request
        fresh = ledger_cache.ledger_version(db.session)
        assert fresh != token
        with db.engine.connect() as conn:
            assert fresh == conn.scalar(
                Setting.__table__.select().with_only_columns(Setting.value)
                .where(Setting.key == ledger_cache.KEY)
            )


def test_a_request_never_sees_another_requests_version(app, db):
    """The remembered token belongs to its request, even where two share an app context."""
    with app.test_request_context():
        ledger_cache.remember_version("stale-token")
        assert ledger_cache.ledger_version(db.session) == "stale-token"
    with app.test_request_context():
        assert ledger_cache.ledger_version(db.session) != "stale-token"


def test_settings_are_read_once_per_version_and_change_with_it(app, db):
    """In a request, settings come from one snapshot per ledger version; a changed setting is
    a new version, so the next request reads the new value."""
    db.session.add(Setting(key=credit.FLAG_SETTING, value=30))
    db.session.commit()
    with app.test_request_context():
        ledger_cache.remember_version(ledger_cache.ledger_version(db.session))
        assert credit.flag_overdue_days(db.session) == 30
        again, seen = _statements(db, lambda: credit.flag_overdue_days(db.session))
        assert again == 30 and seen == []
    db.session.get(Setting, credit.FLAG_SETTING).value = 45
    db.session.commit()
    with app.test_request_context():
        ledger_cache.remember_version(ledger_cache.ledger_version(db.session))
        assert credit.flag_overdue_days(db.session) == 45


def test_outside_a_request_settings_are_read_directly(app, db):
    """Jobs and commands read a setting straight from the database, with no version look-up."""
    db.session.add(Setting(key=credit.FLAG_SETTING, value=60))
    db.session.commit()
    value, seen = _statements(db, lambda: credit.flag_overdue_days(db.session))
    assert value == 60 and len(seen) == 1


def test_a_cached_setting_cannot_be_changed_through_its_copy(app, db):
    """Changing the value a caller got leaves the cached snapshot as it was."""
    db.session.add(Setting(key="debt_classes", value={"attention_max_months": 2}))
    db.session.commit()
    with app.test_request_context():
        ledger_cache.remember_version(ledger_cache.ledger_version(db.session))
        ledger_cache.setting(db.session, "debt_classes")["attention_max_months"] = 99
        assert ledger_cache.setting(db.session, "debt_classes") == {"attention_max_months": 2}
