"""The auditors' confirmations register per year (issue 15), its XLSX and the year's package of
replies.

The register counts a year's requests (by the year of their as-of date):

- sent: every request but the cancelled ones;
- answered: confirmed, disputed or signed letter returned (the debtor replied);
- agreed: confirmed online, or a negative-form request with no disagreement received;
- disputed, unanswered (still awaiting a reply) and returned (undelivered, 退函);
- the reply rate (answered / sent) and the agreed balance as a share of the balance sent.

The package (``replies_package``) is a zip of the register, every file the debtors uploaded
and every letter sent, with a manifest of SHA-256s; each file is read through the storage's
hash check, so a tampered reply stops the package instead of being copied into it.
``verify_package`` checks a package against its manifest.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.balance_confirmation import (
    ANSWERED,
    BalanceConfirmationRequest,
    BalanceConfirmationStatus,
)
from backoffice.permissions import scope_filter
from backoffice.services.balance_confirm_pdf import file_name
from backoffice.services.export import write_xlsx
from backoffice.services.storage import get_storage

S = BalanceConfirmationStatus
AGREED = frozenset({S.CONFIRMED, S.NO_DISAGREEMENT})
ZERO = Decimal("0.00")


@dataclass
class Register:
    year: int
    rows: list[BalanceConfirmationRequest] = field(default_factory=list)
    sent: int = 0
    answered: int = 0
    agreed: int = 0
    disputed: int = 0
    unanswered: int = 0
    returned: int = 0
    balance_sent: Decimal = ZERO
    balance_agreed: Decimal = ZERO

    @property
    def reply_rate(self) -> Decimal:
        return (
            (Decimal(self.answered) / self.sent).quantize(Decimal("0.0001")) if self.sent else ZERO
        )

    @property
    def agreed_share(self) -> Decimal:
        if not self.balance_sent:
            return ZERO
        return (self.balance_agreed / self.balance_sent).quantize(Decimal("0.0001"))


def register(session: Session, year: int, user: Any = None) -> Register:
    """The year's register within ``user``'s scope (every unit for a job)."""
    query = (
        select(BalanceConfirmationRequest)
        .where(BalanceConfirmationRequest.year == year)
        .order_by(BalanceConfirmationRequest.number)
    )
    if user is not None:
        query = query.where(scope_filter(BalanceConfirmationRequest, user))
    reg = Register(year=year)
    for req in session.scalars(query):
        reg.rows.append(req)
        if req.status is S.CANCELLED:
            continue
        reg.sent += 1
        reg.balance_sent += req.balance
        reg.answered += req.status in ANSWERED
        reg.disputed += req.status is S.DISPUTED
        reg.unanswered += req.status is S.SENT
        reg.returned += req.status is S.UNDELIVERABLE
        if req.status in AGREED:
            reg.agreed += 1
            reg.balance_agreed += req.balance
    return reg


HEADERS = (
    _l("Number"),
    _l("Kind"),
    _l("Letter form"),
    _l("Customer"),
    _l("As of"),
    _l("Balance"),
    _l("Status"),
    _l("Debtor's figure"),
    _l("Sent at"),
    _l("Answered at"),
    _l("Reminders sent"),
)


def register_cells(req: BalanceConfirmationRequest) -> list[Any]:
    return [
        req.number,
        req.kind.label,
        req.letter_form.label if req.letter_form else "",
        req.customer.name,
        req.as_of,
        req.balance,
        req.status.label,
        req.debtor_balance,
        req.sent_at,
        req.answered_at,
        req.reminders_sent,
    ]


def register_xlsx(reg: Register) -> bytes:
    """The register as XLSX: one row per request, then the year's figures as its footer."""
    out = io.BytesIO()
    footer = [
        str(_l("Sent")), reg.sent, str(_l("Answered")), reg.answered, str(_l("Agreed")),
        reg.agreed, str(_l("Disputed")), reg.disputed, str(_l("Unanswered")), reg.unanswered,
        f"{_l('Returned')} {reg.returned} · {_l('Reply rate')} {reg.reply_rate:.2%} · "
        f"{_l('Agreed share of the balance')} {reg.agreed_share:.2%}",
    ]  # fmt: skip
    write_xlsx(
        out,
        str(_l("Confirmations register %(year)s", year=reg.year)),
        [str(h) for h in HEADERS],
        (register_cells(r) for r in reg.rows),
        title=str(_l("Confirmations register %(year)s", year=reg.year)),
        footer=footer,
    )
    return out.getvalue()


def replies_package(session: Session, year: int, user: Any = None) -> bytes:
    """A zip of the year's register, the debtors' files and the letters sent, with
    ``manifest.json`` (name → SHA-256). Every stored file is read hash-verified
    (``TamperedError`` stops the package)."""
    reg = register(session, year, user)
    storage = get_storage()
    manifest: dict[str, str] = {}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:

        def add(name: str, data: bytes) -> None:
            zf.writestr(name, data)
            manifest[name] = hashlib.sha256(data).hexdigest()

        add(f"register-{year}.xlsx", register_xlsx(reg))
        for req in reg.rows:
            if req.pdf_key:
                with storage.read_verified(req.pdf_key, req.pdf_sha256) as fh:
                    add(f"{req.number}/{file_name(req)}", fh.read())
            for f in req.files:
                with storage.read_verified(f.storage_key, f.sha256) as fh:
                    add(f"{req.number}/{f.purpose.value}-{f.id}-{f.original_name}", fh.read())
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
    return out.getvalue()


def verify_package(data: bytes) -> list[str]:
    """Names whose bytes differ from the manifest (or are missing or extra); [] when whole."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        names = set(zf.namelist()) - {"manifest.json"}
        bad = sorted(names ^ set(manifest))
        for name in sorted(names & set(manifest)):
            if hashlib.sha256(zf.read(name)).hexdigest() != manifest[name]:
                bad.append(name)
    return bad


ARCHIVE_AREA = "confirmations"


def archive_name(year: int) -> str:
    return f"confirmations-{year}.zip"


def archive_replies(session: Session, year: int) -> bool:
    """Art.22 / issue 15: keep the year's replies package in the archive, write-once, beside
    the year-end transfer. False when the year's package is already there (idempotent)."""
    storage = get_storage()
    if archive_name(year) in storage.named(ARCHIVE_AREA):
        return False
    try:
        storage.put_named(ARCHIVE_AREA, archive_name(year), replies_package(session, year))
    except FileExistsError:
        return False
    return True


def verify_archived(year: int) -> list[str]:
    """The archived package's problems: entries that differ from its manifest; [] when whole.
    A missing package is one problem."""
    storage = get_storage()
    if archive_name(year) not in storage.named(ARCHIVE_AREA):
        return [archive_name(year)]
    return verify_package(storage.get_named(ARCHIVE_AREA, archive_name(year)))
