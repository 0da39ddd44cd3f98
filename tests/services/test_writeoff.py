"""Write-off (Art.18): materials, the four-step chain, rejection and resubmission, filing,
the recourse ledger and the accountability follow-up."""

from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from backoffice.models import AccountabilityFinding, ApprovalDecision, RecourseEntry
from backoffice.models.receivable import ReceivableStatus
from backoffice.models.writeoff import ApprovalStep, Decision, WriteOffGround, WriteOffStatus
from backoffice.services import writeoff as wo
from backoffice.services.audit import SealedError
from backoffice.services.reference import ensure_reference_data

TODAY = date(2026, 11, 2)


@pytest.fixture(autouse=True)
def english(db):
    """WriteOffError messages are translated when raised; these tests match their English."""
    with force_locale("en"):
        yield


@pytest.fixture()
def app_(chain, db):
    ensure_reference_data(db.session)
    application = wo.create(
        db.session,
        applicant=chain["collector"],
        customer_id=chain["customer"].id,
        ground=WriteOffGround.HOPELESS,
        items=[(chain["r1"].id, "30000"), (chain["r2"].id, "12000.50")],
        facts="客户已注销，经多次催收无果",
    )
    db.session.commit()
    return application


def through(db, application, chain, *, upto=ApprovalStep.PRESIDENT):
    for step, who in (
        (ApprovalStep.TEAM_REVIEW, "lead"),
        (ApprovalStep.DIVISION_VP, "vp"),
        (ApprovalStep.CFO, "cfo"),
        (ApprovalStep.PRESIDENT, "president"),
    ):
        wo.decide(db.session, application, chain[who], step, Decision.APPROVED, "同意")
        if step is upto:
            break


def test_refusals_in_chinese_name_the_missing_materials_by_label(app_, chain, db):
    """For a Chinese user the refusal is Chinese and lists the missing materials by label."""
    with force_locale("zh_Hans_CN"), pytest.raises(wo.WriteOffError) as refused:
        wo.submit(db.session, app_, chain["collector"], TODAY)
    message = str(refused.value)
    assert message.startswith("材料不全：请说明原因（") and "对账单" in message, message
    assert "reconciliation" not in message


def test_missing_materials_need_reason_date_and_finance_opinion(app_, chain, db):
    """With Annex 6 materials missing the application cannot go on until it says why,
    commits to a future date, and finance has given its opinion."""
    assert set(wo.missing_materials(db.session, app_)) >= {"contract", "reconciliation"}
    with pytest.raises(wo.WriteOffError, match="say why"):
        wo.submit(db.session, app_, chain["collector"], TODAY)
    app_.materials_missing_reason = "合同原件在诉讼中由法院留存"
    app_.materials_due_on = TODAY
    with pytest.raises(wo.WriteOffError, match="future date"):
        wo.submit(db.session, app_, chain["collector"], TODAY)
    app_.materials_due_on = date(2026, 12, 31)
    with pytest.raises(wo.WriteOffError, match="finance's opinion"):
        wo.submit(db.session, app_, chain["collector"], TODAY)
    with pytest.raises(wo.WriteOffError):
        wo.give_finance_opinion(app_, chain["collector"], "ok")
    wo.give_finance_opinion(app_, chain["finance"], "同意先行核销，材料后补")
    wo.submit(db.session, app_, chain["collector"], TODAY)
    assert app_.status is WriteOffStatus.IN_APPROVAL
    assert app_.current_step is ApprovalStep.TEAM_REVIEW


def ready(app_, chain, db):
    app_.materials_missing_reason, app_.materials_due_on = "补充中", date(2026, 12, 31)
    wo.give_finance_opinion(app_, chain["finance"], "同意")
    wo.submit(db.session, app_, chain["collector"], TODAY)


def test_no_skipping_no_self_approval_no_double_approval(app_, chain, db):
    """Steps come in order; the applicant and a second decision by the same person are
    refused; a VP of another unit may not decide."""
    ready(app_, chain, db)
    with pytest.raises(wo.WriteOffError, match="skipped"):
        wo.decide(db.session, app_, chain["cfo"], ApprovalStep.CFO, Decision.APPROVED, "ok")
    with pytest.raises(wo.WriteOffError, match="own application"):
        wo.decide(
            db.session, app_, chain["collector"], ApprovalStep.TEAM_REVIEW, Decision.APPROVED, "ok"
        )
    with pytest.raises(wo.WriteOffError, match="comment"):
        wo.decide(db.session, app_, chain["lead"], ApprovalStep.TEAM_REVIEW, Decision.APPROVED, " ")
    wo.decide(db.session, app_, chain["lead"], ApprovalStep.TEAM_REVIEW, Decision.APPROVED, "可")
    with pytest.raises(wo.WriteOffError):
        wo.decide(
            db.session, app_, chain["lead"], ApprovalStep.TEAM_REVIEW, Decision.APPROVED, "again"
        )
    with pytest.raises(wo.WriteOffError, match="may not decide"):
        wo.decide(
            db.session, app_, chain["other_vp"], ApprovalStep.DIVISION_VP, Decision.APPROVED, "ok"
        )
    # A person holding two roles still decides only one step of a chain.
    chain["lead"].leader_title = chain["vp"].leader_title
    with pytest.raises(wo.WriteOffError, match="already decided"):
        wo.decide(
            db.session, app_, chain["lead"], ApprovalStep.DIVISION_VP, Decision.APPROVED, "ok"
        )


def test_rejection_returns_and_resubmission_restarts_the_chain(app_, chain, db):
    """A rejection at the CFO returns the application; resubmitted, it starts again at team
    review in a new round, and all four steps then approve."""
    ready(app_, chain, db)
    through(db, app_, chain, upto=ApprovalStep.DIVISION_VP)
    wo.decide(db.session, app_, chain["cfo"], ApprovalStep.CFO, Decision.REJECTED, "证据不足")
    assert app_.status is WriteOffStatus.RETURNED and app_.current_step is None
    app_.facts += "；补充了法院终结执行裁定"
    wo.submit(db.session, app_, chain["collector"], TODAY)
    assert app_.round == 2 and app_.current_step is ApprovalStep.TEAM_REVIEW
    through(db, app_, chain)
    db.session.commit()
    assert app_.status is WriteOffStatus.APPROVED
    assert db.session.scalar(select(func.count()).select_from(ApprovalDecision)) == 7


def test_filing_writes_off_opens_recourse_and_accountability_and_seals(app_, chain, db):
    """After both filings the receivables are written off with the voucher number, the
    recourse ledger keeps the right of recourse, recoveries book against it, an
    accountability follow-up opens, and the application can no longer change."""
    ready(app_, chain, db)
    through(db, app_, chain)
    with pytest.raises(wo.WriteOffError, match="accounting reference"):
        wo.file(db.session, app_, chain["finance"], TODAY)
    assert wo.file(db.session, app_, chain["finance"], TODAY, "记-2026-11-0042") is False
    assert wo.file(db.session, app_, chain["credit"], TODAY) is True
    db.session.commit()
    r1, r2 = chain["r1"], chain["r2"]
    assert r1.status is ReceivableStatus.WRITTEN_OFF and r1.outstanding == Decimal("0.00")
    assert r2.writeoff_ref == "记-2026-11-0042" and r2.written_off_amount == Decimal("12000.50")
    entry = db.session.scalar(select(RecourseEntry))
    assert entry.written_off == Decimal("42000.50")
    wo.record_recovery(db.session, entry, "5000", date(2026, 12, 1), "债务人重组后偿还")
    db.session.commit()
    assert entry.recovered == Decimal("5000.00")
    with pytest.raises(wo.WriteOffError):
        wo.record_recovery(db.session, entry, "99999", date(2026, 12, 2))
    assert db.session.scalar(select(func.count()).select_from(AccountabilityFinding)) == 1
    app_.facts = "改写"
    with pytest.raises(SealedError):
        db.session.commit()
    db.session.rollback()
