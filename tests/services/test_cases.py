"""Collection cases (Art.16–17, 21, 23): escalation, applications, lifecycle, closing."""

import subprocess
from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from backoffice.models import CollectionCase, DocumentRequirement, Notification, WatchListEntry
from backoffice.models.case import CaseOrigin, CaseOutcome, CaseStatus, Strategy
from backoffice.models.customer import FinancialStatus
from backoffice.models.evidence import DocumentType
from backoffice.services import cases
from backoffice.services.calendar import load_year
from backoffice.services.storage import get_storage
from tests import helpers


@pytest.fixture(autouse=True)
def english(db):
    """CaseError messages are translated when raised; these tests match their English text."""
    with force_locale("en"):
        yield


@pytest.fixture()
def world(db):
    load_year(db.session, 2026)
    db.session.commit()
    unit = helpers.make_unit(name="华东事业部")
    lead = helpers.make_user("team_lead")
    collector = helpers.make_user("collector", units=[unit])
    return {"unit": unit, "lead": lead, "collector": collector}


def count(db, model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_walk_from_overdue_to_watch_list_to_compulsory_case(world, db, tmp_path):
    """A debt due 31 Jan: at 2 months nothing, over 3 months the watch list, over 6 months a
    compulsory case with its filing notice; escalating again files nothing twice."""
    customer = helpers.make_customer(
        world["unit"], name="苏州恒达机械有限公司", financial_status=FinancialStatus.MALICIOUS
    )
    helpers.make_receivable(customer, amount="50000", due=date(2026, 1, 31), doc_no="INV-X1")
    helpers.make_receivable(customer, amount="7000", due=date(2026, 6, 30), doc_no="INV-X2")

    assert cases.escalate(db.session, date(2026, 3, 31)).watch_listed == []
    # 30 April is the month end: 31 Jan + 3 months = 30 Apr, so not yet *over* 3 months.
    assert cases.escalate(db.session, date(2026, 4, 30)).watch_listed == []
    result = cases.escalate(db.session, date(2026, 5, 1))
    db.session.commit()
    assert result.watch_listed == [customer.id] and result.filed == []
    assert count(db, WatchListEntry) == 1
    assert count(db, Notification, Notification.user_id == world["lead"].id) == 1

    result = cases.escalate(db.session, date(2026, 8, 1))
    db.session.commit()
    assert len(result.filed) == 1
    case = db.session.scalar(select(CollectionCase))
    assert case.origin is CaseOrigin.COMPULSORY
    assert case.status is CaseStatus.DOCUMENTS_REQUESTED
    assert case.suggested_strategy is Strategy.LITIGATION  # Art.23 (2)(4)
    assert case.documents_due == date(2026, 8, 7)  # 5 working days after Sat 1 Aug
    assert count(db, DocumentRequirement) == len(cases.CHECKLIST)
    assert {cr.receivable.doc_no for cr in case.receivables} == {"INV-X1", "INV-X2"}
    # Escalating again (same day or later) files nothing twice.
    assert cases.escalate(db.session, date(2026, 8, 1)).filed == []
    assert cases.escalate(db.session, date(2026, 9, 1)).filed == []
    db.session.commit()
    assert count(db, CollectionCase) == 1
    if subprocess.run(["which", "pdftotext"], capture_output=True).returncode == 0:
        path = tmp_path / "notice.pdf"
        with get_storage().open(case.filing_notice_key) as fh:
            path.write_bytes(fh.read())
        text = subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "逾期清收立案书" in text and "苏州恒达机械有限公司" in text
        assert "INV-X1" in text and "57,000.00" in text


def test_application_refused_then_accepted(world, db):
    """Under 6 months a collector applies; refused, no case; applied again and accepted,
    the case is filed with its checklist."""
    customer = helpers.make_customer(world["unit"])
    helpers.make_receivable(customer, amount="9000", due=date(2026, 6, 30))
    with pytest.raises(cases.CaseError, match="say why"):
        cases.apply(db.session, customer.id, world["collector"].id, " ", date(2026, 8, 3))
    case = cases.apply(
        db.session, customer.id, world["collector"].id, "客户多次推诿", date(2026, 8, 3)
    )
    assert case.status is CaseStatus.APPLIED
    with pytest.raises(cases.CaseError, match="already has an open case"):
        cases.apply(db.session, customer.id, world["collector"].id, "again", date(2026, 8, 3))
    cases.refuse(db.session, case, world["lead"].id, "金额小，由事业部自行催收")
    db.session.commit()
    assert case.status is CaseStatus.REFUSED
    again = cases.apply(
        db.session, customer.id, world["collector"].id, "客户失联", date(2026, 8, 10)
    )
    cases.accept(db.session, again, world["lead"].id, date(2026, 8, 10))
    db.session.commit()
    assert again.status is CaseStatus.DOCUMENTS_REQUESTED and again.filed_on == date(2026, 8, 10)
    assert again.filing_notice_key


def test_case_errors_speak_the_default_chinese_outside_a_request(app, world, db):
    """Jobs and CLI commands (an app context, no request) get CaseError messages in Chinese."""
    customer = helpers.make_customer(world["unit"])
    helpers.make_receivable(customer, amount="100", due=date(2026, 6, 30))
    case = cases.apply(db.session, customer.id, world["collector"].id, "申请", date(2026, 8, 3))
    with app.app_context():  # a fresh context, as a job has: no forced locale
        with pytest.raises(cases.CaseError) as refused:
            cases.move(case, CaseStatus.CLOSED)
        assert str(refused.value) == "状态为“已申请”的案件不能变更为“已结案”"
    with pytest.raises(cases.CaseError, match="cannot become Closed"):  # English when forced
        cases.move(case, CaseStatus.CLOSED)


def test_illegal_transitions_and_close_without_outcome_are_refused(world, db):
    """Every move outside the lifecycle is refused; a close needs an outcome (Art.21)."""
    customer = helpers.make_customer(world["unit"])
    rec = helpers.make_receivable(customer, amount="100", due=date(2026, 6, 30))
    case = cases.apply(db.session, customer.id, world["collector"].id, "申请", date(2026, 8, 3))
    for bad in (CaseStatus.IN_PROGRESS, CaseStatus.CLOSED, CaseStatus.DOCUMENTS_REQUESTED):
        with pytest.raises(cases.CaseError):
            cases.move(case, bad)
    with pytest.raises(cases.CaseError):
        cases.close(
            db.session, case, world["lead"].id, CaseOutcome.COLLECTED, None, date(2026, 9, 1)
        )
    cases.accept(db.session, case, world["lead"].id, date(2026, 8, 3))
    cases.start_work(db.session, case, override_reason="材料补交中")
    with pytest.raises(cases.CaseError, match="without an outcome"):
        cases.close(db.session, case, world["lead"].id, None, None, date(2026, 9, 1))
    with pytest.raises(cases.CaseError, match="not collected in full"):
        cases.close(
            db.session, case, world["lead"].id, CaseOutcome.COLLECTED, None, date(2026, 9, 1)
        )
    with pytest.raises(cases.CaseError, match="hard to collect"):
        cases.close(
            db.session, case, world["lead"].id, CaseOutcome.HARD_TO_COLLECT, "难", date(2026, 9, 1)
        )
    cases.close(
        db.session,
        case,
        world["lead"].id,
        CaseOutcome.HARD_TO_COLLECT,
        "客户已停业，法院判决后无可执行财产",
        date(2026, 9, 1),
    )
    assert case.status is CaseStatus.CLOSED and case.closed_on == date(2026, 9, 1)
    with pytest.raises(cases.CaseError):
        cases.move(case, CaseStatus.IN_PROGRESS)
    assert rec.outstanding == Decimal("100.00")


def test_strategy_override_needs_a_reason(world, db):
    """The suggested strategy can be overridden only with a reason (Art.23)."""
    customer = helpers.make_customer(world["unit"], financial_status=FinancialStatus.GOOD_FUNDS)
    helpers.make_receivable(customer, amount="100", due=date(2026, 6, 30))
    case = cases.apply(db.session, customer.id, world["collector"].id, "申请", date(2026, 8, 3))
    assert case.suggested_strategy is Strategy.PRESS_FOR_CASH
    with pytest.raises(cases.CaseError):
        cases.override_strategy(case, Strategy.LITIGATION, "")
    cases.override_strategy(case, Strategy.LITIGATION, "客户恶意转移资产")
    assert case.strategy_override is Strategy.LITIGATION


def _documents_requested(db, world) -> CollectionCase:
    customer = helpers.make_customer(world["unit"])
    helpers.make_receivable(customer, amount="100", due=date(2026, 6, 30))
    case = cases.apply(db.session, customer.id, world["collector"].id, "申请", date(2026, 8, 3))
    cases.accept(db.session, case, world["lead"].id, date(2026, 8, 3))
    db.session.commit()
    return case


def test_start_with_documents_missing_is_refused_without_a_reason(world, db):
    """Art.17: 开始清收 while checklist documents are missing, without a reason, is refused."""
    case = _documents_requested(db, world)
    for reason in (None, "", "   "):
        with pytest.raises(cases.CaseError, match="documents still missing"):
            cases.start_work(db.session, case, override_reason=reason)
        db.session.rollback()
    db.session.expire_all()
    case = db.session.get(CollectionCase, case.id)
    assert case.status is CaseStatus.DOCUMENTS_REQUESTED and case.started_at is None


def test_start_with_documents_missing_and_a_reason_is_recorded(world, db):
    """Art.17: with a reason the case starts; the reason is kept on the case and audited."""
    from backoffice.models import AuditLog

    case = _documents_requested(db, world)
    helpers.make_evidence(case, name="合同.pdf", doc_type=cases.CHECKLIST[0])
    cases.start_work(db.session, case, override_reason="  客户即将转移资产，先行催收  ")
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(CollectionCase, case.id)
    assert case.status is CaseStatus.IN_PROGRESS and case.started_at is not None
    assert case.start_override_reason == "客户即将转移资产，先行催收"
    details = db.session.scalars(
        select(AuditLog.detail).where(
            AuditLog.entity == "collection_case", AuditLog.detail.like("第十七条%")
        )
    ).all()
    assert len(details) == 1 and "客户即将转移资产" in details[0]
    # the auditor reads the missing documents by name, not their codes (issue 11)
    with force_locale("zh_Hans_CN"):
        delivery = str(DocumentType("delivery_note").label)
        contract = str(DocumentType("contract").label)
    assert delivery in details[0] and contract not in details[0]
    assert "delivery_note" not in details[0]


def test_start_with_every_document_in_needs_no_reason(world, db):
    """Art.17: once the checklist is complete, work starts as before, with no override."""
    case = _documents_requested(db, world)
    for doc_type in cases.CHECKLIST:
        helpers.make_evidence(case, name=f"{doc_type.value}.pdf", doc_type=doc_type)
    assert cases.missing_documents(db.session, case) == []
    cases.start_work(db.session, case)
    db.session.commit()
    assert case.status is CaseStatus.IN_PROGRESS and case.start_override_reason is None
