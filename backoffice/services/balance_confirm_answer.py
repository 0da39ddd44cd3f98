"""The debtor's answer through its one-time link (issue 15): look up, audit, confirm, dispute,
return the signed letter.

A token is looked up by its SHA-256 only. Every view and every answer writes a
``BalanceConfirmationAccess`` row with the IP and the time (and the audit trail records it, with
the IP, through its hooks). An answer uses the link up with one conditional UPDATE, so two
answers sent at once cannot both be taken: the second is refused as a reused link.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import IO, Any

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backoffice.models.balance_confirmation import (
    AccessKind,
    BalanceConfirmationAccess,
    BalanceConfirmationFile,
    BalanceConfirmationLink,
    BalanceConfirmationRequest,
    BalanceConfirmationStatus,
    DisputeReason,
    FilePurpose,
)
from backoffice.models.base import to_money, utcnow
from backoffice.services import evidence
from backoffice.services.balance_confirm_links import token_hash
from backoffice.services.storage import TooLargeError, get_storage

MAX_TOKEN = 100  # longer strings are not tokens: no lookup at all


class LinkState(StrEnum):
    OPEN = "open"
    EXPIRED = "expired"
    REVOKED = "revoked"
    USED = "used"


REFUSED_KIND = {
    LinkState.EXPIRED: AccessKind.REFUSED_EXPIRED,
    LinkState.REVOKED: AccessKind.REFUSED_REVOKED,
    LinkState.USED: AccessKind.REFUSED_USED,
}


class AnswerRejected(ValueError):
    """An answer the debtor must correct; ``str()`` is the (Chinese) message."""


class LinkRefused(Exception):
    """The link cannot take an answer (expired, revoked, used); ``state`` says which."""

    def __init__(self, state: LinkState):
        super().__init__(state.value)
        self.state = state


@dataclass(frozen=True)
class Visitor:
    ip: str | None
    user_agent: str | None = None


@dataclass
class DisputedLine:
    line_id: int
    disputed_amount: Decimal
    reason: DisputeReason
    note: str | None = None
    filename: str | None = None
    stream: IO[bytes] | None = None


def find_link(session: Session, token: str | None) -> BalanceConfirmationLink | None:
    """The link for ``token``, or None; a malformed token is never looked up."""
    if not token or len(token) > MAX_TOKEN:
        return None
    return session.scalar(
        select(BalanceConfirmationLink).where(
            BalanceConfirmationLink.token_hash == token_hash(token)
        )
    )


def state_of(link: BalanceConfirmationLink) -> LinkState:
    if link.revoked_at is not None:
        return LinkState.REVOKED
    if link.used_at is not None or link.request.answered:
        return LinkState.USED
    if link.expires_at <= utcnow():
        return LinkState.EXPIRED
    req = link.request
    if req.status not in (
        BalanceConfirmationStatus.SENT,
        BalanceConfirmationStatus.NO_DISAGREEMENT,
    ):
        return LinkState.REVOKED  # cancelled or returned undelivered: the request is closed
    return LinkState.OPEN


def log_access(
    session: Session, link: BalanceConfirmationLink, kind: AccessKind, visitor: Visitor
) -> None:
    session.add(
        BalanceConfirmationAccess(
            request_id=link.request_id,
            link_id=link.id,
            kind=kind,
            at=utcnow(),
            ip=visitor.ip,
            user_agent=(visitor.user_agent or "")[:200] or None,
        )
    )


def view(session: Session, link: BalanceConfirmationLink, visitor: Visitor) -> LinkState:
    """Record one opening of the page; the link's state (the caller shows the page or refusal)."""
    state = state_of(link)
    log_access(session, link, REFUSED_KIND.get(state, AccessKind.VIEW), visitor)
    if state is LinkState.OPEN:
        link.views += 1
    session.flush()
    return state


def _use(
    session: Session, link: BalanceConfirmationLink, visitor: Visitor
) -> BalanceConfirmationRequest:
    """Take the link for an answer, once: a conditional UPDATE that only one request wins."""
    state = state_of(link)
    if state is not LinkState.OPEN:
        log_access(session, link, REFUSED_KIND[state], visitor)
        session.flush()
        raise LinkRefused(state)
    now = utcnow()
    taken = session.execute(
        update(BalanceConfirmationLink)
        .where(
            BalanceConfirmationLink.id == link.id,
            BalanceConfirmationLink.used_at.is_(None),
            BalanceConfirmationLink.revoked_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        session.rollback()
        raise LinkRefused(LinkState.USED)
    session.refresh(link)
    req = link.request
    req.answered_at = now
    req.answer_ip = visitor.ip
    return req


def store_upload(
    session: Session,
    req: BalanceConfirmationRequest,
    purpose: FilePurpose,
    filename: str | None,
    stream: IO[bytes],
    visitor: Visitor,
) -> BalanceConfirmationFile:
    """Keep a debtor's file: the evidence store's content check, stored by SHA-256.

    Raises ``AnswerRejected`` for a refused file; no bytes stay behind for a refused file.
    """
    try:
        name = evidence.clean_filename(filename)
    except evidence.UploadRejected as exc:
        raise AnswerRejected(str(exc)) from exc
    found: list[evidence.Kind] = []
    backend = get_storage()
    try:
        stored = backend.put(stream, check=lambda f: found.append(evidence.sniff(f, name)))
    except evidence.UploadRejected as exc:
        raise AnswerRejected(str(exc)) from exc
    except TooLargeError as exc:
        raise AnswerRejected(_("The file is too large.")) from exc
    row = BalanceConfirmationFile(
        request_id=req.id,
        purpose=purpose,
        original_name=name,
        storage_key=stored.key,
        size=stored.size,
        content_type=found[0].content_type,
        sha256=stored.sha256,
        uploaded_at=utcnow(),
        ip=visitor.ip,
    )
    session.add(row)
    try:
        session.flush()
    except Exception:
        backend.discard(stored.key)
        raise
    return row


def parse_amount(raw: Any) -> Decimal:
    try:
        value = to_money(str(raw).replace(",", "").replace("，", "").strip())
    except (InvalidOperation, ValueError) as exc:
        raise AnswerRejected(_("Enter an amount, for example 12345.67.")) from exc
    if value < 0:
        raise AnswerRejected(_("An amount cannot be negative."))
    return value


def confirm(
    session: Session, link: BalanceConfirmationLink, visitor: Visitor, signer: str | None = None
) -> BalanceConfirmationRequest:
    """The debtor agrees with the balance. Uses the link up; the caller commits."""
    req = _use(session, link, visitor)
    req.status = BalanceConfirmationStatus.CONFIRMED
    req.debtor_balance = req.balance
    req.debtor_signer = (signer or "").strip()[:100] or None
    log_access(session, link, AccessKind.CONFIRM, visitor)
    session.flush()
    return req


def dispute(
    session: Session,
    link: BalanceConfirmationLink,
    visitor: Visitor,
    *,
    debtor_balance: Decimal,
    lines: list[DisputedLine],
    note: str | None = None,
    signer: str | None = None,
) -> BalanceConfirmationRequest:
    """The debtor disagrees: its own figure and the documents it disputes, each with a reason
    and optionally a file. Checks everything before the link is used; the dispute goes to the
    customer's collector (``services/balance_dispute.open_dispute``). The caller commits."""
    from backoffice.services.balance_dispute import open_dispute

    req = link.request
    by_id = {line.id: line for line in req.lines}
    if not lines:
        raise AnswerRejected(_("Choose at least one document you dispute."))
    seen = set()
    for item in lines:
        line = by_id.get(item.line_id)
        if line is None or item.line_id in seen:
            raise AnswerRejected(_("A disputed document is not on this statement."))
        seen.add(item.line_id)
        if item.disputed_amount <= 0 or item.disputed_amount > line.outstanding:
            raise AnswerRejected(
                _("The disputed amount of %(doc)s must be above zero and at most its balance.")
                % {"doc": line.doc_no}
            )
    if debtor_balance == req.balance:
        raise AnswerRejected(_("Your figure equals ours: confirm the balance instead."))
    req = _use(session, link, visitor)
    files = {}
    for item in lines:
        if item.stream is not None and item.filename:
            files[item.line_id] = store_upload(
                session, req, FilePurpose.DISPUTE_EVIDENCE, item.filename, item.stream, visitor
            )
    req.status = BalanceConfirmationStatus.DISPUTED
    req.debtor_balance = debtor_balance
    req.debtor_note = (note or "").strip() or None
    req.debtor_signer = (signer or "").strip()[:100] or None
    log_access(session, link, AccessKind.DISPUTE, visitor)
    open_dispute(session, req, [(by_id[i.line_id], i, files.get(i.line_id)) for i in lines])
    session.flush()
    return req


def return_letter(
    session: Session,
    link: BalanceConfirmationLink,
    visitor: Visitor,
    filename: str | None,
    stream: IO[bytes],
) -> BalanceConfirmationRequest:
    """The debtor uploads the signed and sealed letter (a PDF or image); uses the link up."""
    if not filename:
        raise AnswerRejected(_("Choose the scanned letter to upload."))
    req = _use(session, link, visitor)
    store_upload(session, req, FilePurpose.SIGNED_LETTER, filename, stream, visitor)
    req.status = BalanceConfirmationStatus.LETTER_RETURNED
    log_access(session, link, AccessKind.LETTER, visitor)
    session.flush()
    return req
