"""First checks that the app assembles and a user can log in."""

from tests import helpers


def test_anonymous_home_redirects_to_login(client):
    """An anonymous visitor is sent to the login page."""
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_finance_sees_receivables_in_chinese(client, login_as):
    """A finance user logs in and lists receivables."""
    unit = helpers.make_unit()
    helpers.make_receivable(helpers.make_customer(unit), doc_no="INV-1")
    login_as("finance")
    response = client.get("/admin/receivable/")
    assert response.status_code == 200
    assert "INV-1" in response.get_data(as_text=True)
