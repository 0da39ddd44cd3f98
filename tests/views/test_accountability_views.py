"""The accountability form of a filed write-off over HTTP (issue 10 item 14): an empty
finding is refused with a clear Chinese message (400) and nothing is saved."""

from __future__ import annotations

from sqlalchemy import select

from backoffice.models import AccountabilityFinding
from tests import helpers
from tests.services.test_seal_scope import filed_writeoff


def test_an_empty_finding_is_refused_with_a_message(app, db):
    """Posting the finding with a kind but no people and no text answers 400 with the
    reason; the finding stays empty and open."""
    filed = filed_writeoff(db)
    client = helpers.fresh_client(app)
    helpers.login(client, filed["lead"].username)
    page = f"/admin/writeoff_application/app/{filed['app'].id}/"
    token = helpers.csrf_token(client, page)
    for data in ({"kind": "individual", "people": " ", "finding": ""}, {"kind": "unit"}):
        response = client.post(page + "accountability", data={**data, "csrf_token": token})
        assert response.status_code == 400
        assert "责任认定不能为空：请填写责任人或认定意见。" in response.get_data(as_text=True)
    db.session.expire_all()
    finding = db.session.scalar(select(AccountabilityFinding))
    assert finding.kind is None and finding.people is None and finding.completed_at is None
