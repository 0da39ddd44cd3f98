"""全部数据 ("All records"): every list the signed-in role may open, grouped by area.

The menus show each role's daily lists only (``backoffice/menus.py``); this page keeps the rest
of what the permission table allows one click away.
"""

from __future__ import annotations

from flask_admin import BaseView, expose
from flask_login import current_user

from backoffice.permissions import Action, can


class DataIndexView(BaseView):
    def is_accessible(self) -> bool:
        return current_user.is_authenticated

    def inaccessible_callback(self, name, **kwargs):
        from backoffice.views.base import deny

        return deny("data_index", Action.VIEW)

    @expose("/")
    def index(self):
        from backoffice.views import REGISTRY

        groups: dict[str, list] = {}
        for entry in REGISTRY:
            if can(current_user, entry.endpoint, Action.VIEW):
                groups.setdefault(str(entry.category), []).append(entry)
        return self.render("admin/data_index.html", groups=groups)
