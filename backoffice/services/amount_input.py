"""An amount typed into a form: a plain number of yuan, within what the ledger can hold.

``Decimal`` reads far more than a person types: ``1E+30``, ``1e400``, ``Infinity``, ``NaN``
and 40 nines are all numbers to it, and each one later fails (rounding to cents past its
precision, or overflowing the NUMERIC(18, 2) column) as a 500. A form field is validated
here first and refused with a message the user can act on.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext

from backoffice.models.base import CENT
from backoffice.services.formatting import format_money

#: The largest amount a Money column holds (NUMERIC(18, 2)): 16 digits of yuan and the cents.
MAX_AMOUNT = Decimal("9999999999999999.99")
# Digits, an optional sign and decimal point; no exponent, no inf/nan, no full-width digits.
_PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


class AmountError(ValueError):
    """An amount refused; ``str()`` is the (translated) message for the user."""


def parse_amount(raw: str | None, *, maximum: Decimal = MAX_AMOUNT) -> Decimal:
    """The amount in ``raw`` (thousands separators allowed), rounded to cents, half up.

    Raises ``AmountError`` when it is empty, not a plain decimal number (an exponent,
    ``inf``, ``nan``) or larger than ``maximum``. Pure; the sign is left to the caller.
    """
    text = (raw or "").replace(",", "").strip()
    if not text:
        raise AmountError(gettext("Enter an amount."))
    if not _PLAIN.fullmatch(text):
        raise AmountError(
            gettext("Enter the amount as a plain number of yuan, such as 12500.00 (no exponent).")
        )
    value = Decimal(text)
    if abs(value) > maximum:
        raise AmountError(gettext("The amount cannot exceed %(max)s.", max=format_money(maximum)))
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
