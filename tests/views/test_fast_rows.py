"""The list rows rendered in Python and the cached menu read exactly as Flask-Admin's own
template rendered them (issue 13): same cells, same links, same checkboxes, same escaping."""

from __future__ import annotations

import re

import pytest

from backoffice.views import menu_cache
from tests import helpers

CSRF = re.compile(r'name="csrf_token" (type="hidden" )?value="[^"]*"')


def _norm(html: str) -> str:
    """The page without whitespace and CSRF tokens (the only differences allowed)."""
    return re.sub(r"\s+", "", CSRF.sub("", html))


def _view(app, endpoint):
    admin = app.extensions["admin"][0]
    return next(v for v in admin._views if getattr(v, "endpoint", None) == endpoint)


@pytest.mark.parametrize(
    ("role", "endpoint"),
    [("finance", "receivable"), ("credit", "customer"), ("admin", "payment"), ("admin", "user")],
)
def test_fast_rows_equal_flask_admins_template_rows(app, client, login_as, role, endpoint):
    unit = helpers.make_unit()
    customer = helpers.make_customer(unit, name='<b>"华达"&机械</b>')
    for i in range(3):
        helpers.make_receivable(customer, doc_no=f"INV-<{i}>")
    helpers.make_payment(customer)
    login_as(role)
    view = _view(app, endpoint)
    assert view.list_template == "admin/fast_list.html"
    fast = client.get(f"/admin/{endpoint}/").get_data(as_text=True)
    view.list_template = "admin/model/list.html"
    try:
        stock = client.get(f"/admin/{endpoint}/").get_data(as_text=True)
    finally:
        view.list_template = "admin/fast_list.html"
    assert "list-buttons-column" in fast
    assert "<b>" not in fast.split("</thead>", 1)[1]  # the name is escaped, as before
    assert _norm(fast) == _norm(stock)


def test_menu_is_rendered_once_per_roles_language_and_page(app, client, login_as):
    login_as("finance")
    menu_cache.clear(app)
    first = client.get("/admin/receivable/").get_data(as_text=True)
    store = app.extensions[menu_cache._KEY]
    assert len(store) == 1
    client.get("/admin/receivable/")
    assert len(store) == 1  # the same roles on the same page: served from the cache
    other = client.get("/admin/customer/").get_data(as_text=True)
    assert len(store) == 2  # another page marks another entry active
    active = re.compile(r'<a class="dropdown-item active\s*"\s*href="([^"]+)"')

    def nav(html):
        return html[html.index("<nav") : html.index("</nav>")]

    assert active.findall(nav(first)) == ["/admin/receivable/"]
    assert active.findall(nav(other)) == ["/admin/customer/"]


def test_menu_cache_keeps_roles_apart(app, client, login_as):
    menu_cache.clear(app)
    login_as("collector", units=[helpers.make_unit()])
    collector = client.get("/admin/receivable/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": helpers.csrf_token(client, "/admin/")})
    login_as("admin")
    admin = client.get("/admin/receivable/").get_data(as_text=True)
    assert 'href="/admin/user/"' in admin and 'href="/admin/user/"' not in collector
