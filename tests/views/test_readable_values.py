"""Values as people read them (issue 11): enum labels, 是/否 and names on list and details
pages, never PRODUCT, True, [<Role 1>] or the audit log's raw action codes."""

from __future__ import annotations

import re

from backoffice.services import audit
from tests import helpers

RAW = re.compile(r"\b(PRODUCT|OPEN|True|False|true|false)\b|<Role|<SalesUnit|#None")


def _text(response) -> str:
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    body = html[html.index("<body") :]
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_receivable_details_show_labels_not_enum_names(client, login_as, db):
    """A receivable's details page shows 货款 and 未结清 rather than PRODUCT and OPEN."""
    record = helpers.make_receivable(helpers.make_customer())
    login_as("finance")
    text = _text(client.get(f"/admin/receivable/details/?id={record.id}"))
    assert not RAW.search(text), RAW.search(text).group(0)


def test_customer_details_show_yes_or_no(client, login_as, db):
    """A boolean reads 是 or 否 on the details page."""
    customer = helpers.make_customer()
    customer.shipment_hold = True
    db.session.commit()
    login_as("finance")
    text = _text(client.get(f"/admin/customer/details/?id={customer.id}"))
    assert "是" in text
    assert not RAW.search(text), RAW.search(text).group(0)


def test_user_list_names_roles_and_units(client, login_as, db):
    """The users list shows role and unit names, not [<Role 1>] or [<SalesUnit 1>]."""
    unit = helpers.make_unit(name="华东事业部")
    helpers.make_user("collector", units=[unit], username="zhang")
    login_as("admin")
    text = _text(client.get("/admin/user/"))
    assert "华东事业部" in text and "催收" in text
    assert "<Role" not in text and "<SalesUnit" not in text


def test_audit_log_shows_action_labels(client, login_as, db):
    """The audit log reads 登录 where the entry's action is "login"."""
    audit.record_now("login", entity="user", detail="test")
    login_as("auditor")
    text = _text(client.get("/admin/audit_log/"))
    assert "登录" in text
    assert not re.search(r"\blogin\b", text)


def test_list_timestamps_are_shanghai_time_to_the_minute(client, login_as, db):
    """A timestamp column in a list reads 2026-11-30 23:22 (Shanghai), not ISO with seconds and a
    zone (a datetime is also a date, which Flask-Admin formatted first)."""
    from datetime import UTC, datetime

    from backoffice.models import JobRun
    from backoffice.models.job import JobStatus

    db.session.add(
        JobRun(
            rq_job_id="t-1",
            name="verify_audit_chain",
            status=JobStatus.FINISHED,
            enqueued_at=datetime(2026, 11, 30, 15, 22, 19, 652789, tzinfo=UTC),
            result={"watch_listed": [1, 5, 6]},
        )
    )
    db.session.commit()
    login_as("admin")
    text = _text(client.get("/admin/job_run/"))
    assert "2026-11-30 23:22" in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", text)
    assert not re.search(r"\d{2}:\d{2}:\d{2}", text)
