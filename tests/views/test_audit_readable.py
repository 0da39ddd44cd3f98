"""The audit log reads as sentences and names (issue 11): what the services write into an
entry's detail is Chinese whoever's request wrote it, and every kind of record has a name."""

from __future__ import annotations

import re
from types import SimpleNamespace

from flask_babel import force_locale
from sqlalchemy import select

from backoffice.models import AuditLog
from backoffice.models.base import Base
from backoffice.services import audit, calendar, dunning
from backoffice.views.records import _audit_entity
from backoffice.views.responses import denied_detail
from tests import helpers

ASCII_WORDS = re.compile(r"\b(?:Art\.\d+|dunning|paused|resumed|loaded|started|failed|finished)\b")


def _details(db, entity: str) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditLog.detail)
            .where(AuditLog.entity == entity, AuditLog.detail.is_not(None))
            .order_by(AuditLog.seq)
        )
    )


def test_every_kind_of_record_has_a_name_on_the_audit_log(app):
    """No table name (balance_confirmation_link, dunning_pause…) in the 记录类型 column."""
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        raw = [
            table
            for table in sorted(Base.metadata.tables)
            if table not in audit._NOT_AUDITED
            and str(_audit_entity(None, None, SimpleNamespace(entity=table), "entity")).isascii()
        ]
    assert raw == []


def test_dunning_pause_and_resume_read_in_chinese_for_an_english_user(app, db):
    """A pause written in an English user's request still reads 暂停催收：<name>（<code>）."""
    customer = helpers.make_customer(helpers.make_unit(), name="广州凯旋机械有限公司")
    with app.test_request_context(), force_locale("en"):
        dunning.pause(db.session, customer, "客户已签还款协议", None)
        db.session.commit()
        dunning.resume(db.session, customer)
        db.session.commit()
    paused, resumed = _details(db, "dunning_pause")
    assert paused == f"暂停催收：广州凯旋机械有限公司（{customer.erp_code}）"
    assert resumed == f"恢复催收：广州凯旋机械有限公司（{customer.erp_code}）"


def test_calendar_entries_read_in_chinese(app, db):
    """Loading or starting a year of the working-day calendar is said in words."""
    calendar.load_year(db.session, 2005)
    calendar.start_year(db.session, 2099)
    db.session.commit()
    loaded, started = _details(db, "calendar_year")[-2:]
    assert loaded.startswith("已载入 2005 年工作日历：共 365 天，来源 chinesecalendar")
    assert started == "已建立 2099 年工作日历供手工录入：周一至周五为工作日，周末休息"
    assert not ASCII_WORDS.search(loaded + started)


def test_a_refusal_says_what_was_tried_in_words(app):
    """A 403's entry reads 无权查看：/admin/audit_log/, not "view /admin/audit_log/"."""
    with app.test_request_context(), force_locale("en"):
        assert denied_detail("view", "/admin/audit_log/") == "无权查看：/admin/audit_log/"
        assert denied_detail("run 年终归档", "/admin/job_run/1/rerun") == (
            "无权运行：/admin/job_run/1/rerun（年终归档）"
        )
        assert denied_detail("odd", "/x") == "无权访问：/x"


def test_the_audit_log_page_shows_the_chinese_detail(client, db, login_as, app):
    """The auditor reads the entry as written: a sentence, no article code in English."""
    customer = helpers.make_customer(helpers.make_unit(), name="深圳华星港口机械有限公司")
    dunning.pause(db.session, customer, "客户已签还款协议", None)
    db.session.commit()
    login_as("auditor")
    page = client.get("/admin/audit_log/").get_data(as_text=True)
    assert "暂停催收：深圳华星港口机械有限公司" in page
    assert "dunning paused" not in page
