"""The customer's timeline (客户往来记录, issue 14 §2), on the customer view:
``/admin/customer/timeline/<id>/``. Read-only; the events come from
``services.customer_timeline``. Collectors only for their units' customers (another unit's
customer answers 404, like the e-mail page); the roles with no business on customers are
refused (``customer_timeline`` in the permission table).
"""

from __future__ import annotations

from flask import abort
from flask_admin import expose
from flask_admin.model.template import EndpointLinkRowAction
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import Customer
from backoffice.permissions import Action, can, scope_filter
from backoffice.services import customer_timeline
from backoffice.views.base import deny

TIMELINE = "customer_timeline"


class CustomerTimelinePages:
    """The timeline page and its row action, mixed into ``CustomerView``."""

    def get_list_row_actions(self):
        actions = list(super().get_list_row_actions())
        if can(current_user, TIMELINE, Action.VIEW):
            actions.append(
                EndpointLinkRowAction(
                    "fa fa-history", ".timeline_view", title=_l("Customer timeline")
                )
            )
        return actions

    @expose("/timeline/<int:id>/")
    def timeline_view(self, id: int):
        if not can(current_user, TIMELINE, Action.VIEW):
            abort(deny(TIMELINE, Action.VIEW))
        customer = db.session.scalar(
            select(Customer).where(Customer.id == id, scope_filter(Customer, current_user))
        )
        if customer is None:
            abort(404)  # another unit's customer: as if it did not exist
        events, more = customer_timeline.events(db.session, customer.id)
        return self.render(
            "admin/customer_timeline.html",
            customer=customer,
            events=events,
            more=more,
            limit=customer_timeline.LIMIT,
            may_mail=can(current_user, "customer_contact", Action.VIEW),
        )
