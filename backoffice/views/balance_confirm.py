"""Balance confirmation requests and disputes in the back office (issue 15).

- Requests (``balance_confirmation_request``): the list; finance makes and sends requests
  (对账确认 or 询证函, positive or negative, for chosen customers as of a date), sends one
  again with a new link, revokes a link, marks one returned undelivered; everyone who may see
  it opens its page (snapshot, links, every view and answer with IP and time, the debtor's
  files) and downloads the letter, both hash-verified.
- Disputes (``balance_dispute``): the customer's collector (own units by row scope), finance
  and the team lead resolve through ``services/balance_dispute.resolve``; the auditor reads.
- Accesses (``balance_confirmation_access``): the page's log, read-only.

The rules live in ``services/balance_confirm*.py`` and ``services/balance_dispute.py``.
"""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.balance_confirmation import (
    BalanceConfirmationAccess,
    BalanceConfirmationFile,
    BalanceConfirmationKind,
    BalanceConfirmationLink,
    BalanceConfirmationRequest,
    BalanceDispute,
    LetterForm,
)
from backoffice.models.base import local_today
from backoffice.models.customer import Customer
from backoffice.permissions import Action, can, scope_filter
from backoffice.services import audit, balance_confirm, customer_mail
from backoffice.services.balance_confirm_pdf import file_name, open_letter
from backoffice.services.pdf import PdfError
from backoffice.services.storage import TamperedError, get_storage
from backoffice.views.base import SecuredModelView, attachment, deny

REQUEST = "balance_confirmation_request"
DISPUTE = "balance_dispute"


def _number_link(view, context, model, name):
    return Markup('<a href="{}">{}</a>').format(
        url_for("balance_confirmation_request.show_view", req_id=model.id), model.number
    )


def kind_and_form(req: BalanceConfirmationRequest) -> str:
    """对账确认, or 询证函 with its form (积极式询证函 / 消极式询证函) in one short cell, so the
    list and the register fit 1366 px (issue 11); the form's full wording is on the request's
    page, in the filters and in the XLSX."""
    if req.letter_form is None:
        return str(req.kind.label)
    form = _("positive") if req.letter_form is LetterForm.POSITIVE else _("negative")
    return _("Letter (%(form)s)", form=form)


def _kind_and_form(view, context, model, name) -> str:
    return kind_and_form(model)


class BalanceConfirmationRequestView(SecuredModelView):
    """对账确认 and 询证函: the list, the request's page, sending and the letter."""

    list_template = "admin/balance_confirm_list.html"

    column_list = (
        "number",
        "kind",
        "customer",
        "as_of",
        "balance",
        "status",
        "reply_due",
        "sent_at",
        "answered_at",
        "debtor_balance",
    )
    column_filters = ("year", "kind", "letter_form", "status", "as_of")
    column_searchable_list = ("number",)
    column_default_sort = ("id", True)
    column_formatters = {"number": _number_link, "kind": _kind_and_form}
    column_labels = {"debtor_balance": _l("Balance per debtor")}  # a short header: 对方余额

    def _request(self, req_id: int) -> BalanceConfirmationRequest:
        return self.get_one(str(req_id))  # scoped: 404 outside the user's units

    @expose("/send/", methods=("GET", "POST"))
    def new_view(self):
        """Finance makes and sends requests for the chosen customers as of a date."""
        if not can(current_user, REQUEST, Action.CREATE):
            return deny(REQUEST, Action.CREATE)
        customers = db.session.scalars(
            select(Customer).where(scope_filter(Customer, current_user)).order_by(Customer.name)
        ).all()

        def page(status: int = 200):
            page = self.render(
                "admin/balance_confirm_new.html",
                customers=customers,
                kinds=list(BalanceConfirmationKind),
                forms=list(LetterForm),
                form=request.form,
                today=local_today(),
            )
            return page, status

        if request.method == "GET":
            return page()
        ids = {int(v) for v in request.form.getlist("customer_id") if v.isdigit()}
        chosen = [c for c in customers if c.id in ids]
        try:
            as_of = date.fromisoformat(request.form.get("as_of", ""))
        except ValueError:
            flash(_("Enter the as-of date."), "error")
            return page(400)
        if not chosen:
            flash(_("Choose at least one customer."), "error")
            return page(400)
        try:
            made = []
            for customer in chosen:
                req, _token, sent = balance_confirm.create_and_send(
                    db.session,
                    customer=customer,
                    kind=request.form.get("kind", ""),
                    letter_form=request.form.get("letter_form") or None,
                    as_of=as_of,
                    user=current_user,
                    today=local_today(),
                )
                made.append((req, sent))
            db.session.commit()
            customer_mail.dispatch_pending(db.session)  # the e-mails, once their rows are in
        except (ValueError, balance_confirm.ConfirmationRequestError) as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return page(400)
        except PdfError:
            db.session.rollback()
            abort(500)
        for req, sent in made:
            flash(
                _("%(number)s sent to %(to)s.", number=req.number, to=", ".join(sent))
                if sent
                else _(
                    "%(number)s made; the customer has no e-mail: print and post the letter.",
                    number=req.number,
                ),
                "success",
            )
        return redirect(url_for(".index_view"), code=303)

    @expose("/show/<int:req_id>")
    def show_view(self, req_id: int):
        """The request: snapshot, answer, links, accesses and the debtor's files."""
        req = self._request(req_id)
        accesses = db.session.scalars(
            select(BalanceConfirmationAccess)
            .where(BalanceConfirmationAccess.request_id == req.id)
            .order_by(BalanceConfirmationAccess.id)
        ).all()
        dispute = db.session.scalar(
            select(BalanceDispute).where(BalanceDispute.request_id == req.id)
        )
        return self.render(
            "admin/balance_confirm_show.html",
            req=req,
            accesses=accesses,
            dispute=dispute,
            live=balance_confirm.live_link(req),
            may_edit=can(current_user, REQUEST, Action.EDIT),
            may_download=can(current_user, REQUEST, Action.DOWNLOAD),
        )

    @expose("/letter/<int:req_id>")
    def letter_view(self, req_id: int):
        """The letter as sent (with its link and QR code), hash-verified; audited."""
        if not can(current_user, REQUEST, Action.DOWNLOAD):
            return deny(REQUEST, Action.DOWNLOAD)
        req = self._request(req_id)
        if not req.pdf_key:
            abort(404)
        try:
            with open_letter(req) as fh:
                data = fh.read()
        except TamperedError:
            audit.record_now(
                AuditAction.ALERT,
                entity=REQUEST,
                entity_id=req.id,
                detail="letter download refused: hash mismatch",
            )
            abort(409)
        audit.record(
            db.session,
            AuditAction.DOWNLOAD,
            entity=REQUEST,
            entity_id=req.id,
            detail=f"{file_name(req)} sha256={req.pdf_sha256}",
        )
        db.session.commit()
        return attachment(data, file_name(req), "application/pdf")

    @expose("/file/<int:file_id>")
    def file_view(self, file_id: int):
        """A file the debtor uploaded, hash-verified; audited."""
        if not can(current_user, REQUEST, Action.DOWNLOAD):
            return deny(REQUEST, Action.DOWNLOAD)
        row = db.session.get(BalanceConfirmationFile, file_id)
        if row is None:
            abort(404)
        self._request(row.request_id)
        try:
            with get_storage().read_verified(row.storage_key, row.sha256) as fh:
                data = fh.read()
        except TamperedError:
            audit.record_now(
                AuditAction.ALERT,
                entity="balance_confirmation_file",
                entity_id=row.id,
                detail="download refused: hash mismatch",
            )
            abort(409)
        audit.record(
            db.session,
            AuditAction.DOWNLOAD,
            entity="balance_confirmation_file",
            entity_id=row.id,
            detail=f"{row.original_name} sha256={row.sha256}",
        )
        db.session.commit()
        content_type = (
            row.content_type
            if row.content_type == "application/pdf"
            else ("application/octet-stream")
        )
        return attachment(data, row.original_name, content_type)

    @expose("/reissue/<int:req_id>", methods=("POST",))
    def reissue_view(self, req_id: int):
        """Send again with a new link; the old link stops working."""
        if not can(current_user, REQUEST, Action.EDIT):
            return deny(REQUEST, Action.EDIT)
        req = self._request(req_id)
        try:
            _token, sent = balance_confirm.reissue(db.session, req, current_user)
            db.session.commit()
            customer_mail.dispatch_pending(db.session)
        except balance_confirm.ConfirmationRequestError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash(_("Sent again with a new link to %(to)s.", to=", ".join(sent) or "—"), "success")
        return redirect(url_for(".show_view", req_id=req.id), code=303)

    @expose("/revoke/<int:link_id>", methods=("POST",))
    def revoke_view(self, link_id: int):
        """Revoke one link (it answers with the "revoked" page from then on)."""
        if not can(current_user, REQUEST, Action.EDIT):
            return deny(REQUEST, Action.EDIT)
        link = db.session.get(BalanceConfirmationLink, link_id)
        if link is None:
            abort(404)
        req = self._request(link.request_id)
        if balance_confirm.revoke_link(db.session, link, current_user):
            db.session.commit()
            flash(_("The link was revoked."), "success")
        return redirect(url_for(".show_view", req_id=req.id), code=303)

    @expose("/undeliverable/<int:req_id>", methods=("POST",))
    def undeliverable_view(self, req_id: int):
        """The letter came back undelivered (退函): recorded, its links revoked."""
        if not can(current_user, REQUEST, Action.EDIT):
            return deny(REQUEST, Action.EDIT)
        req = self._request(req_id)
        try:
            balance_confirm.mark_undeliverable(
                db.session, req, current_user, request.form.get("note", "")
            )
            db.session.commit()
        except balance_confirm.ConfirmationRequestError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        return redirect(url_for(".show_view", req_id=req.id), code=303)
