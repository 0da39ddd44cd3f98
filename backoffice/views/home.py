"""The dashboard (home page of the admin)."""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_login import current_user

from backoffice.extensions import db


class HomeView(AdminIndexView):
    """The dashboard; anonymous visitors are sent to the login page."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    @expose("/")
    def index(self):
        from datetime import date

        from backoffice.services.dashboard import with_tasks
        from backoffice.services.dashboard_cache import figures_for
        from backoffice.services.todo import todo_items
        from jobs.reminders import missed_tasks

        as_of = date.today()
        # The figures are shared by every process and everyone with the same scope (Redis),
        # marked with their time when a refresh is on its way; the user's own tasks are read
        # fresh on every request.
        figures = figures_for(current_user, as_of)
        # Issue 11: the page starts with the role's own to-do (one count per kind of work);
        # its count of open tasks is the card's, whatever the number of tasks listed.
        todo = todo_items(current_user, as_of)
        tasks = next(((i.count, i.late) for i in todo if i.key == "tasks"), None)
        data = with_tasks(figures, current_user, as_of, tasks)
        # SPEC §3.2: every missed deadline in the user's scope shows on the dashboard.
        data["missed"] = missed_tasks(db.session, current_user, as_of)[:50]
        return self.render("admin/home.html", data=data, todo=todo)
