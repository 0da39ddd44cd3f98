"""The admin: every view is registered here, inside the app factory (``init_admin``).

The list views and their menu places are in ``registry``; the dashboard is ``home``.
"""

from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from backoffice.extensions import db
from backoffice.views import customer_mail, holds
from backoffice.views.home import HomeView
from backoffice.views.registry import (  # noqa: F401  (REGISTRY and the categories, for callers)
    ACCOUNTABILITY,
    ARCHIVE,
    ASSESSMENT,
    CASES,
    CYCLE,
    LEDGER,
    REGISTRY,
    SYSTEM,
    WRITEOFF,
    Entry,
)


def init_admin(app: Flask) -> Admin:
    admin = Admin(
        app,
        name=_l("Qingqian"),
        index_view=HomeView(name=_l("Dashboard"), url="/admin", endpoint="admin"),
        theme=Bootstrap4Theme(base_template="admin/qq_base.html", fluid=True),
    )
    from backoffice.views import menu_cache

    menu_cache.init_app(app)  # the rendered menu, once per roles, language and page
    for entry in REGISTRY:
        admin.add_view(
            entry.view(
                entry.model, db, name=entry.name, category=entry.category, endpoint=entry.endpoint
            )
        )
    from backoffice.views.evidence import EvidenceView

    # Upload/download/verify of evidence files (§3.4); not a menu entry.
    admin.add_view(EvidenceView(name=_l("Evidence files"), endpoint="evidence", url="evidence"))
    from backoffice.services.audit import SealedError
    from backoffice.views.base import sealed_refused

    # Art.22: a change to a sealed record that escaped its view is refused and audited.
    app.register_error_handler(SealedError, sealed_refused)
    from backoffice.services.transitions import StaleStateError
    from backoffice.views.conflict import conflict_refused

    # A request that lost a race to a concurrent decision: a 409 page, never a 500.
    app.register_error_handler(StaleStateError, conflict_refused)
    from backoffice.views.imports import ImportView

    # ERP import upload, progress and result pages (§3.1).
    admin.add_view(
        ImportView(name=_l("Import from ERP"), category=LEDGER, endpoint="imports", url="import")
    )
    from backoffice.views.leadership import LeadershipView

    # Art.9: the monthly report to the leadership group (§3.7).
    admin.add_view(
        LeadershipView(
            name=_l("Leadership report"), category=CYCLE, endpoint="leadership", url="leadership"
        )
    )
    # Art.26: the register of holds (and later flags) HR exports (issue 12).
    admin.add_view(
        holds.AccountabilityRegisterView(
            name=_l("Accountability register"),
            category=ACCOUNTABILITY,
            endpoint="accountability_register",
            url="accountability-register",
        )
    )
    from backoffice.views.predue import PredueView
    from backoffice.views.rule_settings import RuleSettingsView

    # The practice texts' warning before the due date; the rules' settings (Art.3, 16).
    admin.add_view(PredueView(name=_l("Falling due"), category=LEDGER, endpoint="predue"))
    admin.add_view(
        RuleSettingsView(name=_l("Collection rule settings"), category=SYSTEM, endpoint="rules")
    )
    # Issue 14 §2: the customer e-mail templates and the dunning schedule.
    admin.add_view(
        customer_mail.MailSettingsView(
            name=_l("Customer e-mail settings"),
            category=SYSTEM,
            endpoint="mail_settings",
            url="mail-settings",
        )
    )
    from backoffice.views.assessment import AssessmentView
    from backoffice.views.costs import CostLedgerView

    # Art.26(4), 27-30: policy, bases, grades, scorecards; Art.8: the cost ledger.
    admin.add_view(
        AssessmentView(
            name=_l("Assessment and rewards"),
            category=ASSESSMENT,
            endpoint="assessment",
            url="assessment",
        )
    )
    admin.add_view(
        CostLedgerView(
            name=_l("Collection cost ledger"), category=ASSESSMENT, endpoint="costs", url="costs"
        )
    )
    from backoffice.views.balance_register import BalanceRegisterView

    # Issue 15: the auditors' register of balance confirmations per year, and its XLSX.
    admin.add_view(
        BalanceRegisterView(
            name=_l("Confirmations register"),
            category=CYCLE,
            endpoint="balance_register",
            url="balance-register",
        )
    )
    from backoffice.views.data_index import DataIndexView

    # Every list the role may open, beyond the daily ones in its menu (issue 11).
    admin.add_view(DataIndexView(name=_l("All records"), endpoint="data_index", url="data"))
    return admin
