"""Billing contacts and the "do not e-mail" exclusion (issue 14 §2, issue 15).

Statements, dunning reminders and confirmation requests are written to a customer's active
billing contacts, unless the customer is excluded from e-mail. Both rules live here so every
sender asks the same question.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models import Customer, CustomerContact, CustomerMailOptOut
from backoffice.models.base import _l

# A practical address check: one @, a dotted domain, no spaces or angle brackets.
_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\".]{2,}$")


class ContactError(ValueError):
    """A contact that cannot be saved; the message is shown to the user."""


def normalise_email(raw: str) -> str:
    email = (raw or "").strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ContactError(str(_l("Not a valid e-mail address: %(email)s")) % {"email": raw})
    return email


def add_contact(session: Session, customer: Customer, name: str, email: str) -> CustomerContact:
    """Add a billing contact; the same address twice for one customer is refused."""
    name = (name or "").strip()
    if not name:
        raise ContactError(str(_l("The contact's name is required.")))
    email = normalise_email(email)
    exists = session.scalar(
        select(CustomerContact.id).where(
            CustomerContact.customer_id == customer.id, CustomerContact.email == email
        )
    )
    if exists:
        raise ContactError(
            str(_l("This customer already has the contact %(email)s.")) % {"email": email}
        )
    contact = CustomerContact(customer_id=customer.id, name=name, email=email, active=True)
    session.add(contact)
    session.flush()
    return contact


def opted_out(session: Session, customer_id: int) -> CustomerMailOptOut | None:
    return session.scalar(
        select(CustomerMailOptOut).where(CustomerMailOptOut.customer_id == customer_id)
    )


def billing_contacts(session: Session, customer_id: int) -> list[CustomerContact]:
    """The contacts to write to: active ones, none at all for an excluded customer."""
    if opted_out(session, customer_id) is not None:
        return []
    return list(
        session.scalars(
            select(CustomerContact)
            .where(CustomerContact.customer_id == customer_id, CustomerContact.active.is_(True))
            .order_by(CustomerContact.id)
        )
    )
