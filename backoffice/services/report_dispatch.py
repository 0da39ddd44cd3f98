"""Art.12: the monthly overdue report goes to each sales unit's contacts and to the finance
specialist, and the sending is recorded.

"每月3号……由财务部报送逾期账款报表电子档至各销售部门对接人员及财务专员": when a unit's report is
generated, ``send_report`` mails the PDF and XLSX to each address in the unit's
``contact_emails`` and puts the report in the inbox (and mailbox) of the company's finance
specialists. Each sending is a ``ReportDispatch`` row (to whom, when, by whom — none for the
monthly job — and what), unique per report, recipient and sending, so a re-run sends nothing
twice. ``send_again`` (重新发送, finance or an admin) sends the report once more to the unit's
contacts and finance as they are now, recorded in the same way as sending 2, 3…
"""

from __future__ import annotations

import re

from flask_babel import gettext
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from backoffice.models.monthly import DispatchChannel, MonthlyReport, ReportDispatch
from backoffice.models.user import RoleName, User
from backoffice.services import notify
from backoffice.services.storage import StorageError, get_storage
from backoffice.services.transitions import claim

PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SPLIT = re.compile(r"[,，;；\s]+")


def contact_addresses(raw: str | None) -> list[str]:
    """The unit's contacts (comma-, semicolon- or space-separated), each once, in order."""
    seen: list[str] = []
    for part in _SPLIT.split(raw or ""):
        if "@" in part and part not in seen:
            seen.append(part)
    return seen


def finance_specialists(session: Session, company_id: int) -> list[User]:
    """Active finance users who cover ``company_id`` (no company = every company)."""
    ids = notify.users_with_role(session, RoleName.FINANCE)
    if not ids:
        return []
    return list(
        session.scalars(
            select(User)
            .where(User.id.in_(ids), or_(User.company_id.is_(None), User.company_id == company_id))
            .order_by(User.id)
        )
    )


def _files(report: MonthlyReport, unit_name: str) -> list[tuple[str, bytes, str]]:
    files = []
    for key, ext, mimetype in ((report.pdf_key, "pdf", PDF), (report.xlsx_key, "xlsx", XLSX)):
        if not key:
            continue
        try:
            with get_storage().open(key) as stored:
                files.append(
                    (f"逾期账款报表-{unit_name}-{report.period}.{ext}", stored.read(), mimetype)
                )
        except (StorageError, OSError):
            continue  # recorded without it: the attachments column says what went
    return files


def send_report(
    session: Session, report: MonthlyReport, sent_by_id: int | None = None, sending_no: int = 1
) -> list[ReportDispatch]:
    """Art.12: send ``report`` to the unit's contacts (e-mail with the PDF and XLSX) and to
    the finance specialists (inbox and e-mail with a link), recording each sending. A
    recipient already recorded for the report in this sending (``sending_no``; 1 is the
    sending made with the report) is skipped. Adds rows; the caller commits. Returns the new
    records."""
    unit = report.sales_unit
    done = set(
        session.scalars(
            select(ReportDispatch.recipient).where(
                ReportDispatch.report_id == report.id, ReportDispatch.sending_no == sending_no
            )
        )
    )
    subject = f"逾期账款报表 {unit.name} {report.period}（截至 {report.as_of}）"
    if sending_no > 1:
        subject += f"（第 {sending_no} 次发送）"
    link = "/admin/monthly_report/"
    files = _files(report, unit.name)
    names = "、".join(name for name, _, _ in files) or "（无附件）"
    body = (
        f"{unit.name} {report.period} 逾期账款报表已生成：逾期 {report.line_count} 笔，"
        f"逾期合计 {report.total_overdue}。请核对数据，财务专员将于下一个工作日下发逾期账款确认表。"
    )
    records = []

    def record(channel, recipient, user_id=None, what=names):
        row = ReportDispatch(
            report_id=report.id,
            period=report.period,
            company_id=report.company_id,
            sales_unit_id=report.sales_unit_id,
            channel=channel,
            recipient=recipient[:200],
            recipient_user_id=user_id,
            subject=subject[:200],
            attachments=what[:300],
            sent_by_id=sent_by_id,
            sending_no=sending_no,
        )
        session.add(row)
        records.append(row)

    for address in contact_addresses(unit.contact_emails):
        if address in done:
            continue
        notify.send_mail(address, subject, body, files)
        record(DispatchChannel.EMAIL, address)
    for user in finance_specialists(session, report.company_id):
        recipient = f"{user.display_name}（{user.username}）"
        if recipient in done:
            continue
        # a sending again reaches the inbox again: its own de-duplication key
        key = f"report-sent:{report.id}" + (f":{sending_no}" if sending_no > 1 else "")
        notify.notify(session, [user.id], subject, body, link, dedup_key=key)
        record(DispatchChannel.INBOX, recipient, user.id, "报表链接")
    return records


class DispatchError(ValueError):
    """A sending again the rules refuse; the message says why (translated when raised)."""


def send_again(session: Session, report: MonthlyReport, user_id: int) -> list[ReportDispatch]:
    """Art.12: 重新发送 — send ``report`` once more to the unit's contacts and the finance
    specialists as they are now, recorded like the first sending (each row audited as it is
    added) under the next sending number, by ``user_id``. The report's row is locked first,
    so two clicks at once make two numbered sendings, never a clash. Refused
    (``DispatchError``) when there is nobody to send to. The caller checks the permission and
    commits."""
    claim(session, report)
    last = session.scalar(
        select(func.max(ReportDispatch.sending_no)).where(ReportDispatch.report_id == report.id)
    )
    records = send_report(session, report, sent_by_id=user_id, sending_no=(last or 0) + 1)
    if not records:
        raise DispatchError(
            gettext("the unit has no contact e-mail and there is no finance specialist to send to")
        )
    return records
