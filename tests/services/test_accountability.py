"""The accountability finding of a filed write-off (Art.24–26): an empty finding is refused,
completion needs the people and the finding and closes the team's tasks, a completed finding
is frozen, and a save racing the completion loses."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import select, update

from backoffice.extensions import db as _db
from backoffice.models import AccountabilityFinding, Task
from backoffice.models.base import utcnow
from backoffice.models.notification import TaskKind
from backoffice.models.writeoff import ResponsibilityKind
from backoffice.services.accountability import record_finding
from backoffice.services.transitions import StaleStateError
from backoffice.services.writeoff import WriteOffError
from tests.services.test_seal_scope import filed_writeoff


@pytest.fixture()
def finding(db):
    filed_writeoff(db)
    return db.session.scalar(select(AccountabilityFinding))


def test_an_empty_finding_is_refused_with_a_chinese_message(db, finding):
    """A finding with a kind but neither people nor text is refused, in Chinese, and nothing
    is saved."""
    with force_locale("zh_Hans_CN"), pytest.raises(WriteOffError) as refused:
        record_finding(db.session, finding, kind="individual", people=" ", text="")
    assert str(refused.value) == "责任认定不能为空：请填写责任人或认定意见。"
    db.session.rollback()
    db.session.expire_all()
    row = db.session.get(AccountabilityFinding, finding.id)
    assert row.kind is None and row.people is None and row.finding is None


def test_a_missing_kind_and_an_incomplete_completion_are_refused(db, finding):
    """No kind, or completing without both people and text, is refused."""
    with pytest.raises(WriteOffError):
        record_finding(db.session, finding, kind="", people="张三", text="未按期对账")
    with pytest.raises(WriteOffError):
        record_finding(db.session, finding, kind="unit", people="", text="单位责任", completed=True)
    db.session.rollback()


def test_completion_closes_the_tasks_and_freezes_the_finding(db, finding):
    """Completing saves the finding, closes every accountability task and refuses later
    changes."""
    record_finding(
        db.session, finding, kind="individual", people="张三", text="未按期对账", completed=True
    )
    db.session.commit()
    assert finding.kind is ResponsibilityKind.INDIVIDUAL and finding.completed_at is not None
    tasks = db.session.scalars(select(Task).where(Task.kind == TaskKind.ACCOUNTABILITY)).all()
    assert tasks and all(t.done_at is not None for t in tasks)
    with pytest.raises(WriteOffError):
        record_finding(db.session, finding, kind="unit", people="李四", text="改写")
    db.session.rollback()


def test_a_save_racing_the_completion_loses(db, finding):
    """A save decided on the finding as read, after someone else completed it, is refused
    with StaleStateError and changes nothing."""
    assert finding.completed_at is None
    with _db.engine.begin() as other:
        other.execute(
            update(AccountabilityFinding.__table__)
            .where(AccountabilityFinding.id == finding.id)
            .values(completed_at=utcnow(), people="王五", finding="单位责任", kind="unit")
        )
    with pytest.raises(StaleStateError):
        record_finding(db.session, finding, kind="individual", people="张三", text="改写")
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(AccountabilityFinding, finding.id).people == "王五"
