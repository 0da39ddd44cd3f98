"""Customer e-mail screens (issue 14 §2).

- ``/admin/customer/mail/<id>/`` (on the customer view): the customer's billing contacts
  (add, deactivate), the "do not e-mail" exclusion, the dunning pause (Art.23) and the
  customer's e-mails with failures first. Collectors only for their units' customers (row
  scope); finance and the administrator for all.
- ``/admin/customer_mail/``: the send log, read-only (finance, administrator, auditor;
  collectors their units' rows).
- ``/admin/mail-settings/``: the Chinese templates and the dunning schedule.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.model.template import EndpointLinkRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backoffice.extensions import db
from backoffice.models import Customer, CustomerContact, CustomerMailOptOut, MailKind
from backoffice.models.audit import AuditAction
from backoffice.permissions import Action, can, scope_filter
from backoffice.services import audit, contacts, customer_mail, dunning
from backoffice.services.aging import DebtClass
from backoffice.views.base import SecuredModelView, deny

CONTACTS = "customer_contact"  # contacts and the exclusion
PAUSES = "dunning_pause"
SETTINGS = "mail_setting"


class CustomerMailPages:
    """The customer's e-mail page and its actions, mixed into ``CustomerView``."""

    def get_list_row_actions(self):
        actions = list(super().get_list_row_actions())
        if can(current_user, CONTACTS, Action.VIEW):
            actions.append(
                EndpointLinkRowAction("fa fa-envelope", ".mail_view", title=_l("E-mail"))
            )
        return actions

    def _mail_customer(self, id: int, resource: str, action: Action) -> Customer:
        if not can(current_user, resource, action):
            abort(deny(resource, action))
        customer = db.session.scalar(
            select(Customer).where(Customer.id == id, scope_filter(Customer, current_user))
        )
        if customer is None:
            abort(404)  # another unit's customer: as if it did not exist
        return customer

    def _back(self, customer: Customer):
        return redirect(url_for(".mail_view", id=customer.id), code=303)

    @expose("/mail/<int:id>/")
    def mail_view(self, id: int):
        customer = self._mail_customer(id, CONTACTS, Action.VIEW)
        return self.render(
            "admin/customer_mail.html",
            customer=customer,
            contacts=customer.contacts,
            opt_out=contacts.opted_out(db.session, customer.id),
            pause=dunning.paused(db.session, customer.id),
            failures=customer_mail.failures(db.session, customer.id),
            log=customer_mail.customer_log(db.session, customer.id),
            may_edit=can(current_user, CONTACTS, Action.EDIT),
            may_pause=can(current_user, PAUSES, Action.CREATE),
            may_timeline=can(current_user, "customer_timeline", Action.VIEW),
        )

    @expose("/mail/<int:id>/contact", methods=("POST",))
    def mail_add_contact(self, id: int):
        customer = self._mail_customer(id, CONTACTS, Action.EDIT)
        try:
            contact = contacts.add_contact(
                db.session, customer, request.form.get("name", ""), request.form.get("email", "")
            )
        except contacts.ContactError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return self._back(customer)
        audit.record(
            db.session,
            AuditAction.CREATE,
            entity=CONTACTS,
            entity_id=contact.id,
            after={"customer": customer.erp_code, "name": contact.name, "email": contact.email},
        )
        db.session.commit()
        flash(_("Contact %(c)s added.", c=str(contact)), "success")
        return self._back(customer)

    @expose("/mail/<int:id>/contact/<int:contact_id>/active", methods=("POST",))
    def mail_contact_active(self, id: int, contact_id: int):
        customer = self._mail_customer(id, CONTACTS, Action.EDIT)
        contact = db.session.get(CustomerContact, contact_id)
        if contact is None or contact.customer_id != customer.id:
            abort(404)
        active = request.form.get("active") == "1"
        if contact.active != active:
            audit.record(
                db.session,
                AuditAction.UPDATE,
                entity=CONTACTS,
                entity_id=contact.id,
                before={"active": contact.active},
                after={"active": active},
            )
            contact.active = active
            db.session.commit()
        return self._back(customer)

    @expose("/mail/<int:id>/exclude", methods=("POST",))
    def mail_exclude(self, id: int):
        customer = self._mail_customer(id, CONTACTS, Action.EDIT)
        reason = (request.form.get("reason") or "").strip()
        if not reason:
            flash(_("Say why the customer is excluded from e-mail."), "error")
        elif contacts.opted_out(db.session, customer.id) is None:
            db.session.add(
                CustomerMailOptOut(customer_id=customer.id, reason=reason, user_id=current_user.id)
            )
            audit.record(
                db.session,
                AuditAction.CREATE,
                entity="customer_mail_opt_out",
                entity_id=customer.id,
                after={"reason": reason},
            )
            try:
                db.session.commit()
            except IntegrityError:  # a second request excluded it first: one exclusion
                db.session.rollback()
            else:
                flash(_("The customer is excluded from e-mail."), "success")
        return self._back(customer)

    @expose("/mail/<int:id>/include", methods=("POST",))
    def mail_include(self, id: int):
        customer = self._mail_customer(id, CONTACTS, Action.EDIT)
        row = contacts.opted_out(db.session, customer.id)
        if row is not None:
            audit.record(
                db.session,
                AuditAction.DELETE,
                entity="customer_mail_opt_out",
                entity_id=customer.id,
                before={"reason": row.reason},
            )
            db.session.delete(row)
            db.session.commit()
            flash(_("The customer is e-mailed again."), "success")
        return self._back(customer)

    @expose("/mail/<int:id>/pause", methods=("POST",))
    def mail_pause(self, id: int):
        customer = self._mail_customer(id, PAUSES, Action.CREATE)
        try:
            dunning.pause(db.session, customer, request.form.get("reason", ""), current_user.id)
            db.session.commit()
        except dunning.DunningError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        except IntegrityError:  # a second request paused it first: one pause
            db.session.rollback()
            flash(_("The dunning of this customer is already paused."), "error")
        else:
            flash(_("Dunning paused."), "success")
        return self._back(customer)

    @expose("/mail/<int:id>/resume", methods=("POST",))
    def mail_resume(self, id: int):
        customer = self._mail_customer(id, PAUSES, Action.CREATE)
        try:
            dunning.resume(db.session, customer)
        except dunning.DunningError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Dunning resumed."), "success")
        return self._back(customer)


# What a failed sending's stored error ("SMTPRecipientsRefused: {…}") means, for the list
# (issue 11: no raw values); the stored text stays on the details page for the administrator.
MAIL_ERRORS = (
    ("SMTPRecipientsRefused", _l("The recipient's mail server refused the address")),
    ("SMTPSenderRefused", _l("The mail server refused our sender address")),
    ("SMTPAuthenticationError", _l("Could not log in to the mail server")),
    ("SMTPServerDisconnected", _l("The mail server closed the connection")),
    ("SMTPDataError", _l("The mail server refused the message")),
    ("Timeout", _l("The mail server did not answer in time")),
    ("ConnectionRefused", _l("The mail server could not be reached")),
    ("gaierror", _l("The mail server could not be reached")),
    ("OSError", _l("The mail server could not be reached")),
)


def mail_error(view, context, model, name) -> str:
    """A sending's last error in one plain sentence, the full text in its details."""
    text = model.last_error or ""
    if not text:
        return ""
    for marker, reason in MAIL_ERRORS:
        if marker.lower() in text.lower():
            return str(reason)
    return _("Sending failed; the details show the mail server's answer")


def mail_error_in_full(view, context, model, name) -> str:
    """The details page: the plain sentence, then the mail server's own answer as stored."""
    reason = mail_error(view, context, model, name)
    return (
        _("%(reason)s (the server answered: %(answer)s)", reason=reason, answer=model.last_error)
        if reason
        else ""
    )


class CustomerMailView(SecuredModelView):
    """The send log: every e-mail to a customer's contact, its attempts and result."""

    can_create = can_edit = can_delete = False
    column_list = (
        "created_at",
        "kind",
        "period",
        "customer",
        "recipient",
        "status",
        "attempts",
        "sent_at",
        "last_error",
        "requested_by",
    )
    # The subject repeats what and which period (付款提醒（2026-11）): on the details page.
    column_details_list = (
        *column_list,
        "subject",
        "message_id",
        "attachment_name",
        "attachment_sha256",
        "sales_unit",
    )
    column_filters = ("kind", "status", "period", "sales_unit")
    column_searchable_list = ("recipient",)
    column_default_sort = ("id", True)
    column_labels = {
        "kind": _l("What"),
        "recipient": _l("Recipient"),
        "subject": _l("Subject"),
        "attempts": _l("Attempts"),
        "last_error": _l("Last error"),
        "message_id": _l("Message ID"),
        "attachment_name": _l("Attachment"),
        "attachment_sha256": _l("Attachment SHA-256"),
        "requested_by": _l("Requested by"),
    }
    column_formatters = {
        "last_error": mail_error,
        "requested_by": lambda v, c, m, n: (
            m.requested_by.display_name if m.requested_by else _("Scheduled job")
        ),
    }
    column_formatters_detail = {**column_formatters, "last_error": mail_error_in_full}


class MailSettingsView(BaseView):
    """The e-mail templates (Chinese) and the dunning schedule, kept by finance."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and can(current_user, SETTINGS, Action.VIEW)

    def is_visible(self) -> bool:
        return current_user.is_authenticated and can(current_user, SETTINGS, Action.EDIT)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return deny(SETTINGS, Action.VIEW)

    @expose("/", methods=("GET", "POST"))
    def index(self):
        may_edit = can(current_user, SETTINGS, Action.EDIT)
        status = 200
        if request.method == "POST":
            if not may_edit:
                return deny(SETTINGS, Action.EDIT)
            form = request.form
            new = {
                k.value: {
                    "subject": form.get(f"{k.value}-subject", ""),
                    "body": form.get(f"{k.value}-body", ""),
                }
                for k in MailKind
            }
            raw = [
                {"debt_class": c, "days": d, "step": s}
                for c, d, s in zip(
                    form.getlist("debt_class"),
                    form.getlist("days"),
                    form.getlist("step"),
                    strict=False,
                )
                if c and (d or "").strip()
            ]
            try:
                steps = dunning.parse_schedule(raw)
            except dunning.DunningError as exc:
                flash(_("Not saved: %(reason)s", reason=str(exc)), "error")
                status = 400
            else:
                customer_mail.save_templates(db.session, new)
                dunning.save_schedule(db.session, steps)
                db.session.commit()
                flash(_("E-mail settings saved."), "success")
                return redirect(url_for(".index"), code=303)
        steps = dunning.schedule(db.session)
        return self.render(
            "admin/mail_settings.html",
            templates=customer_mail.templates(db.session),
            kinds=list(MailKind),
            steps=steps + [None] * 3,
            classes=[c for c in DebtClass if c is not DebtClass.NORMAL],
            step_kinds=list(dunning.STEPS),
            may_edit=may_edit,
        ), status
