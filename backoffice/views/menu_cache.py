"""The navigation menu, rendered once per roles, language and page (issue 13).

Flask-Admin renders the menu on every page: for each of the ~50 views it asks whether the view
is accessible and visible, and builds its URL. What the menu shows depends only on things that
are code, not data: the permission table (``backoffice.permissions``), the role menus
(``backoffice.menus``) and the views registered. So the HTML is the same for everyone with the
same roles, in the same language, on the same page (the page's entry is marked active), and it
is kept per process under that key. A deployment changes the code, hence restarts the process,
hence empties the cache; ``clear`` empties it by hand (tests that change the tables).

The user's name and the log-out button are outside the cached part (``qq_base.html``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import current_app, request
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

#: Distinct menus kept per process: roles × languages × pages is a few hundred at most.
LIMIT = 2048
_KEY = "qq_menu_cache"
_lock = threading.Lock()


def _store() -> dict:
    return current_app.extensions.setdefault(_KEY, {})


def menu_key(admin_view: Any) -> tuple | None:
    """What the rendered menu depends on; None when it must not be cached."""
    if not getattr(current_user, "is_authenticated", False):
        return None
    return (
        id(getattr(admin_view, "admin", None)),
        frozenset(current_user.role_names),
        str(get_locale()),
        request.script_root,
        getattr(admin_view, "endpoint", None),
        getattr(admin_view, "category", None) and str(admin_view.category),
    )


def cached_menu(render: Callable[[], Markup], admin_view: Any) -> Markup:
    """``render()`` (the theme's ``layout.menu`` macro), once per ``menu_key``."""
    key = menu_key(admin_view)
    if key is None:
        return render()
    store = _store()
    html = store.get(key)
    if html is None:
        html = render()  # the macro's Markup
        with _lock:
            if len(store) >= LIMIT:
                store.clear()
            store[key] = html
    return html


def clear(app: Any = None) -> None:
    """Forget every rendered menu (after a change to the permission or menu tables)."""
    (app or current_app).extensions.pop(_KEY, None)


def init_app(app: Any) -> None:
    app.jinja_env.globals["qq_cached_menu"] = cached_menu
