"""Reminders for unanswered positive-form 询证函 (issue 15): after the reply date, then every
configured number of working days, at most once per interval however often the job runs."""

from datetime import date

from sqlalchemy import select

from backoffice.models import BalanceConfirmationLink
from backoffice.models.setting import Setting
from backoffice.services import balance_reminders
from jobs.balance_confirm_reminders import balance_confirm_reminders
from jobs.schedule import SCHEDULE, daily_balance_confirm_reminders
from tests import balance_world


def _outbox(app):
    from pathlib import Path

    return sorted(Path(app.config["MAIL_OUTBOX_DIR"]).glob("*.eml"))


def test_only_unanswered_positive_letters_past_their_reply_date_are_reminded(app, db):
    """Of eight requests only the three awaiting an answer to a positive letter are due, and
    only after their reply date; answered, negative and 对账确认 ones never."""
    made = balance_world.build()["requests"]
    due_day = made["sent"].reply_due
    assert balance_reminders.due(db.session, due_day) == []
    later = date(2026, 11, 2)
    due = {r.number for r in balance_reminders.due(db.session, later)}
    assert due == {made[s].number for s in ("sent", "expired", "revoked")}


def test_the_job_reminds_once_per_interval_and_is_idempotent(app, db, no_redis):
    """A reminder sends a fresh link with 【催复】, counts it and the day; the same day again sends
    nothing; the next one waits for the interval in working days (Setting)."""
    made = balance_world.build()["requests"]
    db.session.add(Setting(key=balance_reminders.SETTING, value=3))
    db.session.commit()
    req = made["sent"]
    before = len(_outbox(app))
    first = balance_confirm_reminders("2026-11-02")
    assert req.number in first["reminded"] and len(first["reminded"]) == 3
    db.session.expire_all()
    assert (req.reminders_sent, req.last_reminded_on) == (1, date(2026, 11, 2))
    mails = _outbox(app)[before:]
    assert mails and any("【催复】".encode() in p.read_bytes() or b"=?utf-8?" in p.read_bytes()
                         for p in mails)  # fmt: skip
    live = db.session.scalars(
        select(BalanceConfirmationLink).where(
            BalanceConfirmationLink.request_id == made["expired"].id,
            BalanceConfirmationLink.revoked_at.is_(None),
        )
    ).all()
    assert len(live) == 1  # the expired link's debtor got a working one
    sent = len(_outbox(app))
    again = balance_confirm_reminders("2026-11-02")
    assert again["reminded"] == [] and len(_outbox(app)) == sent
    # 2026-11-02 is a Monday: three working days later is Thursday the 5th.
    assert balance_confirm_reminders("2026-11-04")["reminded"] == []
    assert len(balance_confirm_reminders("2026-11-05")["reminded"]) == 3
    db.session.expire_all()
    assert req.reminders_sent == 2


def test_an_answer_stops_the_reminders(app, db):
    """A request answered meanwhile is not reminded, even though it was due."""
    from backoffice.models.balance_confirmation import BalanceConfirmationStatus

    made = balance_world.build()["requests"]
    made["sent"].status = BalanceConfirmationStatus.CONFIRMED
    db.session.commit()
    result = balance_confirm_reminders("2026-11-02")
    assert made["sent"].number not in result["reminded"]


def test_the_scheduler_starts_it_daily_with_one_id_per_day(app, db):
    """The daily tick has the reminders job, its id keyed by the day."""
    assert daily_balance_confirm_reminders in SCHEDULE
    dues = daily_balance_confirm_reminders(date(2026, 11, 2))
    assert len(dues) == 1 and "2026-11-02" in dues[0].job_id
    assert dues[0].func.__name__ == "balance_confirm_reminders"


def test_finance_sets_the_reminder_interval_on_the_rules_page(app, db):
    """The interval is a rule setting finance keeps (audited); 0 is refused."""
    from backoffice.models import AuditLog
    from tests import helpers

    finance = helpers.fresh_client(app)
    helpers.login(finance, helpers.make_user("finance").username)
    data = {
        "csrf_token": helpers.csrf_token(finance, "/admin/rules/"),
        "included": ["interest"],
        "large_amount": "500000",
        "warning_days": "7",
        "reminder_days": "4",
    }
    assert finance.post("/admin/rules/", data=data).status_code == 303
    assert balance_reminders.interval_days(db.session) == 4
    assert db.session.scalar(
        select(AuditLog).where(AuditLog.entity_id == balance_reminders.SETTING)
    )
    data["csrf_token"] = helpers.csrf_token(finance, "/admin/rules/")
    data["reminder_days"] = "0"
    assert finance.post("/admin/rules/", data=data).status_code == 400
    assert balance_reminders.interval_days(db.session) == 4
