"""Each role's menu shows the lists it works with daily (issue 11), never one it may not open
(issue 2); the "All records" page lists every view the role may open."""

import re

import pytest

from backoffice.menus import ROLE_MENUS
from backoffice.models.user import RoleName
from backoffice.permissions import Action, can
from backoffice.views import REGISTRY
from tests import helpers


class _RoleUser:
    def __init__(self, role):
        self.role_names = frozenset({RoleName(role)})
        self.is_authenticated = True


@pytest.mark.parametrize("role", [r.value for r in RoleName])
def test_menu_lists_the_roles_daily_views_it_may_open(client, login_as, role):
    """The navigation links are the registry entries of the role's menu, each one it may view."""
    login_as(role)
    html = client.get("/admin/").get_data(as_text=True)
    links = set(re.findall(r'href="/admin/([a-z_]+)/"', html))
    for entry in REGISTRY:
        allowed = can(_RoleUser(role), entry.endpoint, Action.VIEW)
        expected = allowed and entry.endpoint in ROLE_MENUS[RoleName(role)]
        shown = entry.endpoint in links
        assert shown == expected, f"{role}: {entry.endpoint} shown={shown} expected={expected}"
    nav = html[html.index("<nav") : html.index("</nav>")]
    in_nav = set(re.findall(r'href="/admin/([a-z_]+)/"', nav)) & {e.endpoint for e in REGISTRY}
    assert len(in_nav) <= 18, f"{role}: {len(in_nav)} entries; a menu for daily work, not all"


@pytest.mark.parametrize("role", [r.value for r in RoleName])
def test_every_menu_entry_is_one_the_role_may_open(role):
    """The menu table names only registered views that its role may view."""
    endpoints = {e.endpoint for e in REGISTRY}
    for endpoint in ROLE_MENUS[RoleName(role)]:
        assert endpoint in endpoints, endpoint
        assert can(_RoleUser(role), endpoint, Action.VIEW), f"{role} may not open {endpoint}"


@pytest.mark.parametrize("role", [r.value for r in RoleName])
def test_all_records_page_lists_every_view_the_role_may_open(client, login_as, role):
    """"All records" links every registry entry the role may view, and none it may not."""
    login_as(role)
    response = client.get("/admin/data/")
    assert response.status_code == 200
    links = set(re.findall(r'href="/admin/([a-z_]+)/"', response.get_data(as_text=True)))
    for entry in REGISTRY:
        allowed = can(_RoleUser(role), entry.endpoint, Action.VIEW)
        assert (entry.endpoint in links) == allowed, f"{role}: {entry.endpoint}"


def test_every_menu_link_opens_for_its_role(client, login_as):
    """A collector can open every view in their menu (no link leads to a 403)."""
    unit = helpers.make_unit()
    login_as("collector", units=[unit])
    html = client.get("/admin/").get_data(as_text=True)
    for endpoint in sorted(set(re.findall(r'href="/admin/([a-z_]+)/"', html))):
        assert client.get(f"/admin/{endpoint}/").status_code == 200, endpoint


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/import/", "/admin/leadership/", "/admin/data/", "/admin/nowhere/"]
)
def test_pages_with_their_own_heading_show_it_once(client, login_as, path):
    """Custom pages carry their own <h1>; Flask-Admin's automatic title is not added above it."""
    login_as("finance")
    html = client.get(path).get_data(as_text=True)
    assert html.count("<h1") == 1
    assert '<h4 class="mb-4">' not in html
