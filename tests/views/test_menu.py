"""Each role's menu shows exactly the views it may open (issue 2)."""

import re

import pytest

from backoffice.models.user import RoleName
from backoffice.permissions import Action, can
from backoffice.views import REGISTRY
from tests import helpers


class _RoleUser:
    def __init__(self, role):
        self.role_names = frozenset({RoleName(role)})
        self.is_authenticated = True


@pytest.mark.parametrize("role", [r.value for r in RoleName])
def test_menu_lists_only_the_views_the_role_may_open(client, login_as, role):
    """The navigation links are the registry entries whose resource the role may view."""
    login_as(role)
    html = client.get("/admin/").get_data(as_text=True)
    links = set(re.findall(r'href="/admin/([a-z_]+)/"', html))
    for entry in REGISTRY:
        allowed = can(_RoleUser(role), entry.endpoint, Action.VIEW)
        shown = entry.endpoint in links
        assert shown == allowed, f"{role}: {entry.endpoint} shown={shown} allowed={allowed}"


def test_every_menu_link_opens_for_its_role(client, login_as):
    """A collector can open every view in their menu (no link leads to a 403)."""
    unit = helpers.make_unit()
    login_as("collector", units=[unit])
    html = client.get("/admin/").get_data(as_text=True)
    for endpoint in sorted(set(re.findall(r'href="/admin/([a-z_]+)/"', html))):
        assert client.get(f"/admin/{endpoint}/").status_code == 200, endpoint


@pytest.mark.parametrize("path", ["/admin/", "/admin/import/", "/admin/leadership/"])
def test_pages_with_their_own_heading_show_it_once(client, login_as, path):
    """Custom pages carry their own <h1>; Flask-Admin's automatic title is not added above it."""
    login_as("finance")
    html = client.get(path).get_data(as_text=True)
    assert html.count("<h1") == 1
    assert '<h4 class="mb-4">' not in html
