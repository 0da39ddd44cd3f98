"""Every PDF the product makes fits its page: long Chinese names and paragraphs wrap inside the
margins and table cells, nothing is cut off, and the CJK font stays embedded."""

import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from html import unescape
from pathlib import Path
from types import SimpleNamespace as NS

import pytest

from backoffice.models.balance_confirmation import BalanceConfirmationKind, LetterForm
from backoffice.models.case import CaseOrigin, CaseOutcome, Strategy
from backoffice.models.monthly import FormStatus, ReasonClass, Route
from backoffice.models.receivable import ChargeKind
from backoffice.models.writeoff import ApprovalStep, Decision, WriteOffGround, WriteOffStatus
from backoffice.services import balance_confirm_pdf, charges, confirmation_pdf, leadership
from backoffice.services.archive_summary import summary_rows
from backoffice.services.monthly import Line, Plan
from backoffice.services.monthly_report import ReportTotals
from backoffice.services.pdf import render_pdf
from backoffice.services.pdf_cjk import CANNOT_START

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed"
)

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "pdf"
CM = 72 / 2.54
# The printable area: left/right margins, and the header frame's top and the footer frame's
# bottom (templates/pdf/base.html).
SIDE, TOP, BOTTOM = 1.6 * CM, 0.8 * CM, 0.4 * CM
TOLERANCE = 2.0  # points

# A 60-character company name and a 300-character paragraph, without a single space.
LONG_NAME = ("华东重型机械装备制造集团股份有限公司上海浦东新区分公司" * 3)[:56] + "有限公司"
LONG_TEXT = (
    "该客户自二〇二四年起因下游项目停工导致资金周转困难，多次承诺付款均未兑现，"
    "经催收专员电话、上门及发函催收后仍拖欠货款，清欠小组评估其资产状况后认为短期内难以全额收回，"
    "建议通过分期还款协议并追加担保的方式逐步清收，相关后果由贵司承担。"
) * 3
LONG_TEXT = LONG_TEXT[:300]
LONG_ADDRESS = "上海市浦东新区张江高科技园区科苑路一千二百三十八号国际创新中心大厦B座二十八层"
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
DOC_NO = "HX-2026-1105-000123456789"
assert len(LONG_NAME) == 60 and len(LONG_TEXT) == 300


def _company():
    return NS(name=LONG_NAME, address=LONG_ADDRESS, phone="021-12345678",
              bank_account="中国工商银行上海浦东支行 1001 2345 6789 0123 456")


def _customer():
    return NS(name=LONG_NAME, erp_code="C-000123456789", contact_person=LONG_NAME[:20],
              address=LONG_TEXT)


def _unit():
    return NS(name=LONG_NAME, company=_company())


def _receivable(i: int = 1):
    return NS(doc_no=f"{DOC_NO}-{i}", due_date=date(2025, 3, 31), issue_date=date(2025, 1, 1),
              amount=Decimal("1234567890.12"), outstanding=Decimal("987654321.98"),
              collector=NS(display_name=LONG_NAME[:30]), collector_name=None)


def _case():
    return NS(case_no="QQ-2026-000123", origin=CaseOrigin.COMPULSORY, filed_on=date(2026, 1, 5),
              closed_on=date(2026, 11, 30), sales_unit=_unit(), customer=_customer(),
              suggested_strategy=Strategy.PRESS_FOR_CASH, outcome=CaseOutcome.COLLECTED,
              outcome_note=LONG_TEXT)


PLAN = Plan("2026-11", date(2026, 10, 31), date(2026, 11, 3), date(2026, 11, 4),
            date(2026, 11, 11))
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def statement():
    lines = [{"r": _receivable(i), "outstanding": Decimal("987654321.98"), "overdue_days": 245}
             for i in range(3)]
    return render_pdf("statement.html", company=_company(), customer=_customer(), plan=PLAN,
                      lines=lines, total=Decimal("2962962965.94"), overdue=Decimal("1"))


def _charges():
    big = Decimal("123456789.01")
    return charges.Charges(big, big, big)


def _totals(n):
    return ReportTotals.of(Decimal("2962962965.94"), [_charges()] * n,
                           frozenset({ChargeKind.INTEREST, ChargeKind.DAMAGES}))


def statement_charges():
    """Art.3: the statement with interest, penalty interest and damages in their columns."""
    lines = [{"r": _receivable(i), "outstanding": Decimal("987654321.98"), "overdue_days": 245,
              "charges": _charges()} for i in range(3)]
    return render_pdf("statement.html", company=_company(), customer=_customer(), plan=PLAN,
                      lines=lines, total=Decimal("2962962965.94"), overdue=Decimal("1"),
                      totals=_totals(3))


def monthly_report_charges():
    """Art.3: the unit report with the three charges apart and the overdue total named."""
    lines = [Line(_receivable(i), LONG_NAME, Decimal("987654321.98"), 245, _charges())
             for i in range(3)]
    return render_pdf("monthly_report.html", company=_company(), unit=_unit(), plan=PLAN,
                      lines=lines, total=Decimal("2962962965.94"), totals=_totals(3))


def predue_letter():
    """The practice texts' reminder before the due date (到期付款提醒函)."""
    rs = [_receivable(i) for i in range(3)]
    return render_pdf("predue_letter.html", company=_company(), customer=_customer(),
                      receivables=rs, total=Decimal("2962962965.94"),
                      issued_on=date(2026, 11, 30))


def monthly_report():
    lines = [Line(_receivable(i), LONG_NAME, Decimal("987654321.98"), 245) for i in range(3)]
    return render_pdf("monthly_report.html", company=_company(), unit=_unit(), plan=PLAN,
                      lines=lines, total=Decimal("2962962965.94"))


def confirmation_issued():
    lines = [Line(_receivable(i), LONG_NAME, Decimal("987654321.98"), 245) for i in range(3)]
    return confirmation_pdf.render_form(
        company=_company(), unit=_unit(), period="2026-11", issued_on=date(2026, 11, 4),
        answer_due=date(2026, 11, 11), rows=confirmation_pdf.issued_rows(lines))


def _answered_form():
    lines = [
        NS(customer=NS(name=LONG_NAME), receivable=_receivable(i),
           outstanding_at_close=Decimal("987654321.98"), overdue_days=245,
           reason_class=ReasonClass.BOTH, sub_reason=NS(label="商务条件差异"),
           comment=LONG_TEXT, estimated_recoverable=Decimal("123456789.01"),
           expected_date=date(2026, 12, 31), route=Route.FINANCE_THEN_SPLIT)
        for i in range(2)
    ]
    return NS(lines=lines, sales_unit=_unit(), period="2026-11", issued_on=date(2026, 11, 4),
              answer_due=date(2026, 11, 11), status=FormStatus.ROUTED)


def confirmation_answered():
    return confirmation_pdf.answered_form_pdf(_answered_form())


def _letter(template):
    rs = [_receivable(i) for i in range(3)]
    return render_pdf(template, company=_company(), case=_case(), customer=_customer(),
                      receivables=rs, total=Decimal("2962962965.94"),
                      deadline=date(2026, 12, 15), issued_on=date(2026, 11, 30))


def demand_letter():
    return _letter("demand_letter.html")


def lawyer_letter():
    return _letter("lawyer_letter.html")


def demo_document():
    return render_pdf("demo_document.html", company=_company(), case=_case(), title=LONG_NAME,
                      text=LONG_TEXT)


def filing_notice():
    return _letter("filing_notice.html")


def writeoff_application():
    app = NS(app_no="HX-2026-000123", created_at=NOW, applicant=LONG_NAME[:20],
             sales_unit=_unit(), customer=_customer(), case=_case(),
             status=WriteOffStatus.IN_APPROVAL, round=2, ground=WriteOffGround.HOPELESS,
             facts=LONG_TEXT, amount=Decimal("2962962965.94"),
             materials_missing_reason=LONG_TEXT, materials_due_on=date(2026, 12, 31),
             finance_opinion=LONG_TEXT, accounting_ref="JZ-2026-11-000123456789",
             filed_at=NOW)
    items = [NS(receivable=_receivable(i), amount=Decimal("987654321.98")) for i in range(3)]
    decisions = [NS(round=1, step=ApprovalStep.TEAM_REVIEW, decision=Decision.REJECTED,
                    comment=LONG_TEXT, user=LONG_NAME[:20], decided_at=NOW)]
    return render_pdf("writeoff_application.html", app=app, company=_company(), items=items,
                      checklist=[NS(label=LONG_TEXT[:80], present=False)], decisions=decisions)


def case_summary():
    items = [
        NS(seq=1, kind="document", ref="evidence_document:7", name=LONG_NAME + ".pdf", sha256=SHA),
        NS(seq=2, kind="case", ref="collection_case:3", name="QQ-2026-000123", sha256=SHA),
        NS(seq=3, kind="record", ref="case_receivable:11", name="case_receivable", sha256=SHA),
        NS(seq=4, kind="record", ref="document_requirement:12", name="document_requirement",
           sha256=SHA),
        NS(seq=5, kind="decision", ref="approval_decision:2", name="team_review", sha256=SHA),
    ]
    case = _case()
    record = NS(archive_no="DA-2026-000123456789")
    writeoff = NS(app_no="HX-2026-000123", ground=WriteOffGround.HOPELESS,
                  amount=Decimal("2962962965.94"), accounting_ref="JZ-2026-11-000123456789")
    return render_pdf("case_summary.html", company=_company(), case=case, record=record,
                      items=summary_rows(items), writeoff=writeoff,
                      amount=Decimal("2962962965.94"))


def leadership_report():
    figures = dict(base=Decimal("123456789.01"), overdue_collected=Decimal("123456789.01"),
                   achievement=Decimal("1.2345"), excess=Decimal("23456789.01"),
                   opening=Decimal("1234567890.12"), billed=Decimal("1234567890.12"),
                   collected=Decimal("1234567890.12"), outstanding=Decimal("1234567890.12"),
                   overdue=Decimal("1234567890.12"), overdue_ratio=Decimal("0.5"),
                   collection_rate=Decimal("0.5"), dso=123, cost=Decimal("1234567890.12"),
                   cost_per_100=Decimal("12345.67"),
                   # Art.3: the charges apart, and an overdue total that counts two of them
                   charges=charges.Charges(*[Decimal("123456789.01")] * 3),
                   overdue_total=Decimal("1481481468.14"))
    units = [NS(name=LONG_NAME, **figures) for _ in range(2)]
    included = frozenset({ChargeKind.INTEREST, ChargeKind.DAMAGES})
    migration = {r: {c: Decimal("1234567890.12") for c in leadership.MIGRATION_COLUMNS}
                 for r in leadership.MIGRATION_ROWS}
    report = NS(period="2026-10", start=date(2026, 10, 1), closing=date(2026, 10, 31),
                units=units, total=NS(name="合计", **figures), migration=migration,
                included=included, included_kinds=[k for k in ChargeKind if k in included],
                total_label=charges.total_label(included))
    return render_pdf("leadership_report.html", company=_company(), report=report,
                      rows=leadership.MIGRATION_ROWS, columns=leadership.MIGRATION_COLUMNS,
                      charge_kinds=list(ChargeKind))


def scorecard():
    """Art.27-28: an amended and approved scorecard, long member names and a long comment."""
    from backoffice.models.assessment import ScorecardStatus

    big = Decimal("1234567890.12")
    policy = NS(year=2026, reward_rate=Decimal("0.02"), penalty_floor=Decimal("0.8"),
                penalty_rate=Decimal("0.01"), weight_standard=Decimal("1.00"),
                weight_hard=Decimal("1.20"), weight_very_hard=Decimal("1.50"))
    lines = [NS(user_id=None, user=None, base=big, collected=big, weighted=big,
                achievement=Decimal("1.2345"), excess=big, proposed=big, amount=big)]
    lines += [NS(user_id=n, user=LONG_NAME, base=big, collected=big, weighted=big,
                 achievement=Decimal("0.5"), excess=Decimal("0"), proposed=-big, amount=-big)
              for n in (1, 2, 3)]
    moment = datetime(2026, 11, 30, 2, 5, tzinfo=UTC)
    card = NS(period="2026", status=ScorecardStatus.APPROVED, policy=policy, lines=lines,
              comment=LONG_TEXT, amended_by=LONG_NAME, amended_at=moment,
              approved_by=LONG_NAME, approved_at=moment)
    return render_pdf("scorecard.html", company=_company(), card=card, missed={2})


def balance_letter(form=LetterForm.POSITIVE):
    """Issue 15: the 询证函 with the online link and its QR code."""
    lines = [NS(doc_no=r.doc_no, issue_date=r.issue_date, due_date=r.due_date, amount=r.amount,
                outstanding=r.outstanding) for r in (_receivable(i) for i in range(3))]
    req = NS(kind=BalanceConfirmationKind.AUDIT_LETTER, letter_form=form,
             number="XZ2026-00001", as_of=date(2026, 12, 31), reply_due=date(2027, 1, 15),
             balance=Decimal("2962962965.94"), company=_company(), customer=_customer(),
             lines=lines, links=[])
    return balance_confirm_pdf.letter_pdf(req, "T" * 43)


def balance_letter_negative():
    return balance_letter(LetterForm.NEGATIVE)


# kind → (builder, its template, {text: how many times it must come out whole})
KINDS = {
    "statement": (statement, "statement.html", {LONG_NAME: 3}),
    "monthly_report": (monthly_report, "monthly_report.html", {LONG_NAME: 6}),
    "monthly_report_charges": (
        monthly_report_charges, "monthly_report.html",
        {LONG_NAME: 6, "123,456,789.01": 9, "逾期合计（本金＋利息＋违约金）": 1},
    ),
    "statement_charges": (statement_charges, "statement.html",
                          {LONG_NAME: 3, "123,456,789.01": 9, "违约金": 2}),
    "predue_letter": (predue_letter, "predue_letter.html",
                      {LONG_TEXT: 1, LONG_NAME: 3, "请贵司合理安排资金": 1}),
    "confirmation_issued": (confirmation_issued, "confirmation_form.html", {LONG_NAME: 6}),
    "confirmation_answered": (confirmation_answered, "confirmation_form.html",
                              {LONG_TEXT: 2, "123,456,789.01": 2}),
    "demand_letter": (demand_letter, "demand_letter.html",
                      {LONG_TEXT: 1, "由此产生的一切费用及后果由贵司承担。": 1}),
    "lawyer_letter": (lawyer_letter, "lawyer_letter.html", {LONG_TEXT: 1, LONG_NAME: 3}),
    "filing_notice": (filing_notice, "filing_notice.html", {LONG_NAME: 3}),
    "writeoff_application": (writeoff_application, "writeoff_application.html",
                             {LONG_TEXT: 4, "JZ-2026-11-000123456789": 1}),
    "case_summary": (case_summary, "case_summary.html", {LONG_TEXT: 1, SHA: 5}),
    "leadership_report": (
        leadership_report, "leadership_report.html",
        {LONG_NAME: 7, "123,456,789.01": 18, "逾期合计（本金＋利息＋违约金）": 1},
    ),
    "scorecard": (scorecard, "scorecard.html", {LONG_TEXT: 1, LONG_NAME: 5}),
    "demo_document": (demo_document, "demo_document.html", {LONG_TEXT: 1}),
    "balance_letter": (balance_letter, "balance_confirmation_letter.html",
                       {LONG_NAME: 3, "本函仅为复核账目之用": 1, "信息证明无误": 1,
                        "2,962,962,965.94": 2, "/c/" + "T" * 43: 1}),
    "balance_letter_negative": (balance_letter_negative, "balance_confirmation_letter.html",
                                {LONG_NAME: 3, "则无须回复": 1, "信息不符": 2}),
}
# A text cut by a page break comes out with the page's footer, the next page's header and the
# repeated table head (and the rest of its table row) in between: at most this many characters.
PAGE_BREAK_GAP = 1200


def count_whole(flat: str, text: str) -> int:
    """How many times ``text`` comes out in ``flat``, each character in order, allowing a page
    break's worth of other text inside one occurrence."""
    found, pos = 0, 0
    while True:
        start = flat.find(text[0], pos)
        if start < 0:
            return found
        i = start
        for char in text[1:]:
            i = flat.find(char, i + 1, start + len(text) + PAGE_BREAK_GAP)
            if i < 0:
                return found
        found, pos = found + 1, i + 1


WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
)
PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)


def _pdftotext(path: Path, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def outside_printable_area(path: Path) -> list[str]:
    """Every word (page, text, box) that lies outside the page minus its margins.

    Chinese typesetting hangs a closing punctuation mark that would start a line in the right
    margin (行末标点悬挂; services/pdf_cjk does so for one character): a line ending in
    one may pass the margin by that one glyph, never more."""
    bad = []
    for n, (width, height, body) in enumerate(PAGE.findall(_pdftotext(path, "-bbox")), 1):
        w, h = float(width), float(height)
        for x0, y0, x1, y1, text in WORD.findall(body):
            text = unescape(text)
            hanging = float(y1) - float(y0) if text[-1] in CANNOT_START else 0.0
            if (float(x0) < SIDE - TOLERANCE or float(x1) > w - SIDE + TOLERANCE + hanging
                    or float(y0) < TOP - TOLERANCE or float(y1) > h - BOTTOM + TOLERANCE):
                bad.append(f"p{n} {text!r} ({x0}, {y0})–({x1}, {y1}) in {w}×{h}")
    return bad


def test_every_pdf_template_is_covered():
    """Each template under templates/pdf/ (but the shared base) is rendered by a case below."""
    covered = {template for _, template, _ in KINDS.values()}
    assert covered == {p.name for p in TEMPLATES.glob("*.html")} - {"base.html"}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_pdf_fits_its_page_and_loses_nothing(app, tmp_path, kind):
    """A 60-character name and a 300-character paragraph wrap inside the printable area
    (no word outside the page minus its margins) and come out whole in the extracted text."""
    build, _, texts = KINDS[kind]
    with app.test_request_context():
        data = build()
    path = tmp_path / f"{kind}.pdf"
    path.write_bytes(data)
    assert outside_printable_area(path) == []
    flat = re.sub(r"\s+", "", _pdftotext(path, "-raw"))
    for text, times in texts.items():
        assert count_whole(flat, re.sub(r"\s+", "", text)) >= times, f"{text[:20]}… lost"


def test_archive_summary_names_records_in_words(app, tmp_path):
    """The archive summary names each record in Chinese, never by its table name."""
    with app.test_request_context():
        data = case_summary()
    path = tmp_path / "summary.pdf"
    path.write_bytes(data)
    flat = re.sub(r"\s+", "", _pdftotext(path, "-raw"))
    for raw in ("case_receivable", "document_requirement", "team_review"):
        assert raw not in flat
    assert "案件关联的应收账款#11" in flat and "所需资料#12" in flat


def test_answered_confirmation_form_prints_answers_and_routes(app, tmp_path):
    """Annex 1, once answered and routed, prints each line's reason, amount, date and route."""
    with app.test_request_context():
        data = confirmation_answered()
        route = re.sub(r"\s+", "", str(Route.FINANCE_THEN_SPLIT.label))
    path = tmp_path / "form.pdf"
    path.write_bytes(data)
    flat = re.sub(r"\s+", "", _pdftotext(path, "-raw"))
    assert "内外部原因兼有" in flat and "商务条件差异" in flat and "分派（第十五条）" in flat
    assert "123,456,789.01" in flat and "2026-12-31" in flat and route in flat
