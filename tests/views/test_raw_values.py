"""Pages the role journeys found showing raw values (issue 11): each now reads in Chinese."""

from __future__ import annotations

import re

from sqlalchemy import select

from backoffice.models import AuditLog
from backoffice.models.archive import ArchiveItem
from backoffice.services.formatting import SHANGHAI
from tests import helpers
from tests.browser.scanner import scan
from tests.views.test_archive_views import archived_case

ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\d{2}:\d{2}:\d{2}|\+00:00")


def test_details_show_timestamps_to_the_minute(client, login_as, db):
    """A details page shows created/updated times in Shanghai time to the minute, not ISO."""
    unit = helpers.make_unit(code="EAST", name="华东事业部")
    customer = helpers.make_customer(unit, name="常州永泰建材有限公司")
    login_as("admin")
    page = client.get(f"/admin/customer/details/?id={customer.id}").get_data(as_text=True)
    assert "常州永泰建材有限公司" in page
    assert not ISO.search(page), ISO.search(page).group()
    shanghai = customer.created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert shanghai in page


def test_audit_entry_reads_in_words(client, login_as, db):
    """The audit log names the record kind (用户) and shows before/after as labelled values,
    not a Python dict with ISO timestamps."""
    admin = login_as("admin")
    client.get("/admin/")  # the login itself left an entry with last_login_at before/after
    entry = db.session.scalars(
        select(AuditLog).where(AuditLog.entity == "user").order_by(AuditLog.seq.desc())
    ).first()
    assert entry is not None and entry.after
    listed = client.get("/admin/audit_log/").get_data(as_text=True)
    assert re.search(r'<td class="col-entity">\s*用户\s*</td>', listed)
    page = client.get(f"/admin/audit_log/details/?id={entry.id}").get_data(as_text=True)
    assert "{'" not in page and not ISO.search(page)
    assert "最近登录时间：" in page or admin.last_login_at is None
    assert scan(page) == []


def test_user_list_filters_are_named_in_chinese(client, login_as):
    """The user list's relation filters read 角色 / 名称 and 事业部 / 代码, not Role / Name."""
    login_as("admin")
    page = client.get("/admin/user/").get_data(as_text=True)
    assert "Role / Name" not in page and "Sales Unit" not in page
    assert "角色 / 名称" in page
    assert scan(page) == []


def test_archive_manifest_rows_are_named_in_words(client, login_as, db):
    """The archive file names each manifest row in words (案件记录, 催收记录 #n), never by its
    kind or table name."""
    record = archived_case(db)["record"]
    login_as("auditor")
    page = client.get(f"/admin/archive_record/file/{record.id}/").get_data(as_text=True)
    items = list(db.session.scalars(select(ArchiveItem).where(ArchiveItem.archive_id == record.id)))
    assert any(i.kind == "record" and i.name == "collection_action" for i in items)
    cells = re.findall(r"<tr>\s*<td>\d+</td>\s*<td>([^<]*)</td>", page)
    assert cells and not {"record", "document", "case", "writeoff"} & set(cells)
    assert "案件记录" in cells and "证据材料" in cells
    assert "<td>collection_action</td>" not in page and "催收记录 #" in page


def test_import_batch_details_link_the_report_instead_of_its_json(client, login_as, db):
    """An import's details page links its result page rather than dumping the stored report."""
    from backoffice.models.receivable import ImportBatch, ImportKind, ImportStatus

    user = login_as("finance")
    batch = ImportBatch(
        kind=ImportKind.RECEIVABLES, filename="应收.xlsx", sha256="0" * 64, user_id=user.id,
        status=ImportStatus.APPLIED, report={"options": {"company": "HRZG"}, "fatal": None},
    )  # fmt: skip
    db.session.add(batch)
    db.session.commit()
    page = client.get(f"/admin/import_batch/details/?id={batch.id}").get_data(as_text=True)
    assert f'href="/admin/import/{batch.id}/result/"' in page
    assert "Options" not in page and "fatal" not in page.lower()
