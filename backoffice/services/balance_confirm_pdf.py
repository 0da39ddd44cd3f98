"""The 询证函 / 对账确认函 PDF (issue 15): the usual Chinese audit layout with the online link
printed as a URL and a QR code (ReportLab's own QR symbology, through xhtml2pdf's
``<pdf:barcode type="qr">``: no image file, nothing fetched).

The token is never stored, so the letter is rendered when a link is issued and kept, hashed, in
the evidence storage (``store_letter``); downloads re-check the hash (``open_letter``).
"""

from __future__ import annotations

import io
from typing import BinaryIO

from sqlalchemy.orm import Session

from backoffice.models.balance_confirmation import (
    BalanceConfirmationKind,
    BalanceConfirmationRequest,
    LetterForm,
)
from backoffice.models.base import local_today
from backoffice.services.balance_confirm_links import link_url, live_link
from backoffice.services.formatting import SHANGHAI
from backoffice.services.pdf import render_pdf
from backoffice.services.storage import get_storage


def title_of(req: BalanceConfirmationRequest) -> str:
    if req.kind is BalanceConfirmationKind.AUDIT_LETTER:
        return "往来款项询证函"
    return "对账确认函"


def file_name(req: BalanceConfirmationRequest) -> str:
    return f"{title_of(req)}-{req.number}.pdf"


def letter_pdf(req: BalanceConfirmationRequest, token: str) -> bytes:
    """Render the letter for ``req`` with the link of ``token``; raises ``PdfError``."""
    link = live_link(req)
    expires = link.expires_at.astimezone(SHANGHAI).date().isoformat() if link else ""
    return render_pdf(
        "balance_confirmation_letter.html",
        req=req,
        company=req.company,
        customer=req.customer,
        lines=req.lines,
        title=title_of(req),
        negative=req.letter_form is LetterForm.NEGATIVE,
        url=link_url(token),
        expires_on=expires,
        issued_on=local_today(),
    )


def store_letter(session: Session, req: BalanceConfirmationRequest, token: str) -> bytes:
    """Render the letter and keep it (hashed) as the request's current letter; the bytes."""
    data = letter_pdf(req, token)
    stored = get_storage().put(io.BytesIO(data))
    req.pdf_key, req.pdf_sha256 = stored.key, stored.sha256
    session.flush()
    return data


def open_letter(req: BalanceConfirmationRequest) -> BinaryIO:
    """The stored letter after its SHA-256 is checked (``TamperedError`` otherwise)."""
    return get_storage().read_verified(req.pdf_key, req.pdf_sha256)
