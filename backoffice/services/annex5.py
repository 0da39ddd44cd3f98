"""Annex 5 (附件5：逾期账款催款方式表): the collection methods finance and the collector choose
from when routing an overdue line (Art.15 (2) ②: "具体催收方式，参考附件5执行").

The seed names Annex 5 but does not reproduce it; its methods are those Art.15 (2) ② lists
(申请核减客户信用、停货、发书面催款函、组织上门催收、申请清欠小组协助清收), completed from
Art.16 and Art.23 and the practice texts (电话、短信、微信、邮件、律师函、诉讼、委外催收). Each
row says when the method applies, who acts, and the article it comes from. Read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Method:
    method: Any
    when: Any
    who: Any
    basis: str


TABLE: tuple[Method, ...] = (
    Method(
        _l("Phone, SMS, WeChat or e-mail reminder"),
        _l("Any overdue line; first contact after the due date"),
        _l("Collector"),
        "实施方案 3；第十五条",
    ),
    Method(
        _l("Written demand letter (催款函)"),
        _l("Overdue without justification; attention class and beyond"),
        _l("Collector, copying the follow-up clerk and sales VP"),
        "第十五条第2款②",
    ),
    Method(
        _l("Apply to cut the customer's credit"),
        _l("Unjustified delay; exposure over the credit limit"),
        _l("Collector applies; credit specialist (president's office) decides"),
        "第十条第3款；第十五条第2款②",
    ),
    Method(
        _l("Stop shipments (停货)"),
        _l("Unjustified delay, to keep the loss from growing"),
        _l("Collector applies; credit specialist notifies the hold"),
        "第十条第3款；第十五条第2款②",
    ),
    Method(
        _l("On-site visit"),
        _l("No answer to reminders and letters"),
        _l("Collector, with the follow-up clerk"),
        "第十五条第2款②",
    ),
    Method(
        _l("Ask the collection team for help"),
        _l("Over 3 months for large debts, over 6 months always, or earlier on application"),
        _l("Collector applies; the team lead accepts or refuses"),
        "第十五条第2款②；第十六条",
    ),
    Method(
        _l("Repayment plan or collateral"),
        _l("Poor funds but good prospects"),
        _l("Collection team with the collector"),
        "第二十三条第2款(2)",
    ),
    Method(
        _l("Payment in kind"),
        _l("Poor funds and poorly run"),
        _l("Collection team, legal specialist"),
        "第二十三条第2款(3)",
    ),
    Method(
        _l("Lawyer's letter or litigation"),
        _l("Malicious delay or evasion"),
        _l("Legal specialist (audit-legal department)"),
        "第十条第4款；第二十三条第2款(4)",
    ),
)
