"""Notifications (SPEC §3.2): an in-app inbox for everyone, and e-mail over SMTP when
``MAIL_SERVER`` is configured, otherwise written to a local outbox folder as .eml files.

``notify`` is idempotent per (user, dedup key): a reminder sent once is not sent again.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.base import utcnow
from backoffice.models.notification import Notification, Task, TaskKind
from backoffice.models.user import Role, RoleName, User, user_role, user_sales_unit


def notify(
    session: Session,
    user_ids: Iterable[int],
    title: str,
    body: str = "",
    link: str | None = None,
    dedup_key: str | None = None,
) -> list[Notification]:
    """Put a message in each user's inbox (and mail it); skips users already told ``dedup_key``.

    Adds rows to the session; the caller commits.
    """
    ids = sorted({uid for uid in user_ids if uid is not None})
    if not ids:
        return []
    already: set[int] = set()
    if dedup_key:
        already = set(
            session.scalars(
                select(Notification.user_id).where(
                    Notification.dedup_key == dedup_key, Notification.user_id.in_(ids)
                )
            )
        )
    created = []
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}
    for uid in ids:
        if uid in already or uid not in users:
            continue
        note = Notification(
            user_id=uid,
            title=title[:200],
            body=body,
            link=link,
            dedup_key=dedup_key,
            created_at=utcnow(),
        )
        session.add(note)
        if users[uid].email:
            send_mail(users[uid].email, title, body + (f"\n\n{link}" if link else ""))
            note.emailed_at = utcnow()
        created.append(note)
    return created


def send_mail(
    to: str, subject: str, body: str, attachments: Iterable[tuple[str, bytes, str]] = ()
) -> str:
    """Mail ``body`` (and each (file name, data, MIME type) attachment) to ``to``; returns the
    Message-ID. The one sending function of the application.

    With ``MAIL_SERVER``: SMTP, over implicit TLS (``MAIL_USE_SSL``) or STARTTLS
    (``MAIL_USE_TLS``, on by default when ``MAIL_USERNAME`` is set), logging in when
    ``MAIL_USERNAME`` is set. Raises ``smtplib.SMTPException`` / ``OSError`` when the server
    refuses or cannot be reached (the caller retries). Without it: an .eml file in
    ``MAIL_OUTBOX_DIR``.
    """
    cfg = current_app.config
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = cfg["MAIL_SENDER"], to, subject
    domain = str(cfg["MAIL_SENDER"]).rpartition("@")[2] or "localhost"
    msg["Message-ID"] = message_id = make_msgid(domain=domain)
    msg["Date"] = formatdate(localtime=True)
    msg.set_content(body)
    for name, data, mimetype in attachments:
        maintype, _, subtype = mimetype.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    if cfg.get("MAIL_SERVER"):
        _smtp_send(cfg, msg)
        return message_id
    outbox = Path(cfg["MAIL_OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    # Microseconds in the name keep the folder's sorted order the order of sending.
    name = f"{utcnow():%Y%m%dT%H%M%S.%f}-{uuid.uuid4().hex[:8]}.eml"
    (outbox / name).write_bytes(bytes(msg))
    return message_id


def _smtp_send(cfg, msg: EmailMessage) -> None:
    host, port = cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"])
    timeout = int(cfg.get("MAIL_TIMEOUT", 30))
    context = ssl.create_default_context(cafile=cfg.get("MAIL_TLS_CA_FILE") or None)
    username = cfg.get("MAIL_USERNAME")
    if cfg.get("MAIL_USE_SSL"):
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        use_tls = cfg.get("MAIL_USE_TLS")
        if use_tls is None:
            use_tls = bool(username)
        if use_tls and not cfg.get("MAIL_USE_SSL"):
            smtp.starttls(context=context)
        if username:
            smtp.login(username, cfg.get("MAIL_PASSWORD") or "")
        smtp.send_message(msg)


def users_with_role(session: Session, role: RoleName, unit_id: int | None = None) -> list[int]:
    """Ids of active users holding ``role`` (and, if given, member of ``unit_id``)."""
    query = (
        select(User.id)
        .join(user_role, user_role.c.user_id == User.id)
        .join(Role, Role.id == user_role.c.role_id)
        .where(Role.name == role, User.active.is_(True))
    )
    if unit_id is not None:
        query = query.join(user_sales_unit, user_sales_unit.c.user_id == User.id).where(
            user_sales_unit.c.sales_unit_id == unit_id
        )
    return list(session.scalars(query.distinct()))


def open_task(
    session: Session,
    *,
    kind: TaskKind,
    title: str,
    subject_type: str,
    subject_id: int,
    assignee_id: int | None,
    due_on=None,
    link: str | None = None,
    company_id: int | None = None,
    sales_unit_id: int | None = None,
    cc: Iterable[int] = (),
) -> Task:
    """A task for ``assignee_id`` about a subject, created once (unique key)."""
    task = session.scalar(
        select(Task).where(
            Task.kind == kind,
            Task.subject_type == subject_type,
            Task.subject_id == subject_id,
            Task.assignee_id == assignee_id,
        )
    )
    if task is None:
        task = Task(
            kind=kind,
            title=title[:200],
            subject_type=subject_type,
            subject_id=subject_id,
            assignee_id=assignee_id,
            due_on=due_on,
            link=link,
            company_id=company_id,
            sales_unit_id=sales_unit_id,
            cc_user_ids=sorted(set(cc)) or None,
            created_at=utcnow(),
        )
        session.add(task)
    return task


def close_tasks(session: Session, *, kind: TaskKind, subject_type: str, subject_id: int) -> None:
    for task in session.scalars(
        select(Task).where(
            Task.kind == kind,
            Task.subject_type == subject_type,
            Task.subject_id == subject_id,
            Task.done_at.is_(None),
        )
    ):
        task.done_at = utcnow()


def notify_form_issued(session: Session, form) -> None:
    """Art.12–14: the unit's collectors get the form to answer within 5 working days."""
    collectors = users_with_role(session, RoleName.COLLECTOR, form.sales_unit_id)
    link = f"/admin/confirmation_form/answer/{form.id}"
    title = f"逾期账款确认表 {form.period} 待答复（截止 {form.answer_due}）"
    for uid in collectors:
        open_task(
            session,
            kind=TaskKind.ANSWER_FORM,
            title=title,
            subject_type="confirmation_form",
            subject_id=form.id,
            assignee_id=uid,
            due_on=form.answer_due,
            link=link,
            company_id=form.company_id,
            sales_unit_id=form.sales_unit_id,
        )
    notify(
        session,
        collectors,
        title,
        "请在截止日前核对并答复每笔逾期账款的原因。",
        link,
        dedup_key=f"form-issued:{form.id}",
    )


def notify_leadership_report(session: Session, month: str) -> None:
    """Art.9: each month the collection team reports plan, progress and results to the
    leadership group. When the monthly run starts, leaders and team leads are told that the
    report for ``month`` (the month just closed, ``YYYY-MM``) can be read. Once per month."""
    readers = {
        *users_with_role(session, RoleName.LEADER),
        *users_with_role(session, RoleName.TEAM_LEAD),
    }
    notify(
        session,
        readers,
        f"清欠工作月报 {month} 可查阅",
        "本月清欠计划、进展与成果：清欠基数完成情况、回款、逾期率、回款率、周转天数与账龄迁移。",
        f"/admin/leadership/?period={month}",
        dedup_key=f"leadership-report:{month}",
    )
