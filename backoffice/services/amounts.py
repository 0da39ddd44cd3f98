"""Money as people type it: one strict grammar for the ERP import and the money form fields.

Accepted (what Chinese ERPs and spreadsheets write): ``1234.56``, ``1,234.56`` (thousands
groups of exactly three), a currency marker before (``¥``, ``￥``, ``RMB``, ``CNY``, ``人民币``)
and/or after (``元``, ``RMB``, ``CNY``, ``人民币``), full-width digits and punctuation
(``１２３４．５６``), spaces around, and a negative written ``-1,234.56`` or ``(1,234.56)``.

Refused, each with a reason code (``AmountError.code``, the messages are in ``REASONS``):
anything ambiguous (``1.234,56`` and ``1 000,00`` European forms, ``1234,56`` decimal comma,
misplaced groups ``1,2,3`` / ``12,34``, a double negative ``-(5)``), more than two decimals
unless they are zeros, exponents, ``inf``/``nan``, digits other than ASCII and full-width
(Arabic-Indic ``١٢٣``, superscripts…), and amounts above ``MAX_AMOUNT``.

``parse_amount`` returns the signed amount; whether zero or a negative is allowed is the
caller's rule (receivables: neither; credit notes: negative is the ERP's way of writing them).
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from backoffice.models.base import CENT


def N_(text: str) -> str:  # noqa: N802 - Babel's default keyword for "translate later"
    return text


# Money columns are NUMERIC(18,2) on PostgreSQL (16 integer digits) and integer cents in a
# 64-bit integer on SQLite (about 9.2e16 yuan). One amount stays below a trillion yuan, so that
# sums of ten thousand of them still fit both columns exactly.
MAX_AMOUNT = Decimal("999999999999.99")

REASONS = {
    "amount_not_number": N_("Not an amount (write it like 1,234.56)"),
    "amount_european": N_(
        "Ambiguous number format (comma or space used as in 1.234,56 or 1 000,00): "
        "write 1,234.56 or 1234.56"
    ),
    "amount_grouping": N_(
        "Misplaced thousands separator: groups of three digits, like 1,234,567.89"
    ),
    "amount_decimals": N_("More than two decimals"),
    "amount_exponent": N_("Exponent notation (like 1E5) is not accepted"),
    "amount_not_finite": N_("Not a finite amount"),
    "amount_digits": N_("Only ASCII or full-width digits are accepted"),
    "amount_sign": N_("Ambiguous sign: use either a minus sign or parentheses"),
    "amount_too_large": N_("The amount exceeds the maximum of %(max)s"),
    "amount_zero": N_("The amount must be greater than zero"),
    "amount_negative": N_("The amount cannot be negative"),
}


class AmountError(ValueError):
    """An amount refused by the grammar; ``code`` keys ``REASONS``, ``params`` fill it."""

    def __init__(self, code: str, **params: Any):
        super().__init__(code)
        self.code, self.params = code, params

    @property
    def message(self) -> str:
        return REASONS[self.code] % self.params if self.params else REASONS[self.code]


# Full-width ASCII (U+FF01–U+FF5E) to ASCII, the ideographic space, ￥ and the minus sign.
# Deliberately not NFKC: NFKC also turns superscripts, circled and mathematical digits into
# ASCII digits, which an amount must not contain.
_FOLD = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FOLD.update({0x3000: " ", 0xFFE5: "¥", 0x2212: "-", 0xFE63: "-"})
_SPACES = " \t\u00a0\u2009\u202f"
_PREFIX = re.compile(r"(¥|rmb|cny|人民币)", re.IGNORECASE)
_SUFFIX = re.compile(r"(元|rmb|cny|人民币)$", re.IGNORECASE)
_PLAIN = re.compile(r"(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?")
_GROUPED = re.compile(r"(?P<int>[1-9][0-9]{0,2}(?:,[0-9]{3})+)(?:\.(?P<frac>[0-9]+))?")
_EXPONENT = re.compile(r"[0-9.,]*[0-9][eE][+-]?[0-9]+")
_NOT_FINITE = re.compile(r"[+-]?(inf|infinity|nan|snan)", re.IGNORECASE)
# 1.234 / 1 234 / 1.234,56 / 1234,56: a European reader sees another number than we do.
_EUROPEAN = re.compile(
    r"[1-9][0-9]{0,2}(?:[. ][0-9]{3})+(?:,[0-9]+)?|[0-9]+(?:[. ][0-9]{3})*,[0-9]+"
)


def parse_amount(value: Any) -> Decimal:
    """The exact signed amount in ``value`` (text or a spreadsheet number), to the cent.

    Raises ``AmountError`` (a ``ValueError``) with the reason. Pure: touches nothing.
    """
    if isinstance(value, bool) or value is None:
        raise AmountError("amount_not_number")
    if isinstance(value, int | float | Decimal):
        return _from_number(value)
    return _from_text(str(value))


def _from_number(value: int | float | Decimal) -> Decimal:
    if isinstance(value, float) and not math.isfinite(value):
        raise AmountError("amount_not_finite")
    if isinstance(value, Decimal) and not value.is_finite():
        raise AmountError("amount_not_finite")
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    _check_bound(exact)
    rounded = exact.quantize(CENT, rounding=ROUND_HALF_UP)
    # Floats from Excel carry binary noise (0.1 + 0.2); real extra decimals are refused.
    tolerance = Decimal("0.000001") if isinstance(value, float) else Decimal(0)
    if abs(exact - rounded) > tolerance:
        raise AmountError("amount_decimals")
    return rounded + 0  # "+ 0" turns -0.00 into 0.00


def _check_bound(amount: Decimal) -> None:
    if abs(amount) > MAX_AMOUNT:
        raise AmountError("amount_too_large", max=f"{MAX_AMOUNT:,}")


# The usual cell, "12345.6" or "1,234.50": ASCII digits, grouped by threes or not, at most two
# decimals, nothing around them. Every rule below accepts it as it is; the import reads a
# hundred thousand of them, so it skips the rest (issue 13).
_USUAL = re.compile(r"(?:[0-9]+|[1-9][0-9]{0,2}(?:,[0-9]{3})+)(?:\.[0-9]{1,2})?")
_MAX_DIGITS = len(str(int(MAX_AMOUNT)))


def _from_text(raw: str) -> Decimal:
    if raw.isascii() and _USUAL.fullmatch(raw):
        whole, _dot, frac = raw.replace(",", "").partition(".")
        if len(whole.lstrip("0")) <= _MAX_DIGITS:
            amount = Decimal(f"{whole}.{frac or '0'}").quantize(CENT)
            _check_bound(amount)
            return amount + 0
    s = raw.translate(_FOLD).strip(_SPACES)
    if any(ch.isdigit() and not "0" <= ch <= "9" for ch in s):
        raise AmountError("amount_digits")
    negative, s = _strip_markers(s)
    if not s:
        raise AmountError("amount_not_number")
    if _NOT_FINITE.fullmatch(s):
        raise AmountError("amount_not_finite")
    if _EXPONENT.fullmatch(s):
        raise AmountError("amount_exponent")
    if _EUROPEAN.fullmatch(s) and not _GROUPED.fullmatch(s):
        raise AmountError("amount_european")
    m = _PLAIN.fullmatch(s) or _GROUPED.fullmatch(s)
    if m is None:
        if any(ch in _SPACES for ch in s):
            raise AmountError("amount_european")
        if re.fullmatch(r"[0-9][0-9,]*(\.[0-9]+)?", s):
            raise AmountError("amount_grouping")
        raise AmountError("amount_not_number")
    whole, frac = m["int"].replace(",", ""), m["frac"] or ""
    if len(frac) > 2 and frac[2:].strip("0"):
        raise AmountError("amount_decimals")
    if len(whole.lstrip("0")) > _MAX_DIGITS:
        raise AmountError("amount_too_large", max=f"{MAX_AMOUNT:,}")
    amount = Decimal(f"{whole}.{frac[:2] or '0'}").quantize(CENT)
    _check_bound(amount)
    return (-amount if negative else amount) + 0


def _strip_markers(s: str) -> tuple[bool, str]:
    """Take off the sign, parentheses and currency markers (each at most once, any order)."""
    minus = paren = prefix = suffix = False
    for _ in range(4):
        if s.startswith("-") and not minus:
            minus, s = True, s[1:]
        elif s.startswith("(") and s.endswith(")") and len(s) > 1 and not paren:
            paren, s = True, s[1:-1]
        elif not prefix and (m := _PREFIX.match(s)):
            prefix, s = True, s[m.end() :]
        elif not suffix and (m := _SUFFIX.search(s)):
            suffix, s = True, s[: m.start()]
        else:
            break
        s = s.strip(_SPACES)
    if minus and paren:
        raise AmountError("amount_sign")
    if "(" in s or ")" in s or s.startswith("-"):
        raise AmountError("amount_sign" if s.startswith("-") else "amount_not_number")
    return minus or paren, s


def check_sign(amount: Decimal, *, allow_zero: bool = False, allow_negative: bool = False) -> None:
    """Raise ``AmountError`` if ``amount`` is zero or negative where that is not allowed."""
    if amount == 0 and not allow_zero:
        raise AmountError("amount_zero")
    if amount < 0 and not allow_negative:
        raise AmountError("amount_negative")


def translated(exc: AmountError) -> str:
    """The refusal in the user's language (the reasons are marked with ``N_``)."""
    from flask_babel import gettext

    template = REASONS[exc.code]
    return gettext(template, **exc.params) if exc.params else gettext(template)


def read_amount(
    text: str | None, *, allow_zero: bool = False, allow_negative: bool = False
) -> Decimal | None:
    """An amount typed into a form: None when blank, else the exact amount under the import's
    grammar and maximum. Raises ``ValueError`` with the translated reason."""
    if text is None or not str(text).strip():
        return None
    try:
        amount = parse_amount(text)
        check_sign(amount, allow_zero=allow_zero, allow_negative=allow_negative)
    except AmountError as exc:
        raise ValueError(translated(exc)) from exc
    return amount


class MoneyInput:
    """WTForms validator for a money field: the same grammar and maximum as the import.

    Use on a ``DecimalField`` (or a ``StringField``): it re-reads the submitted text, so
    ``NaN``, ``1E30`` and ``١٢٣`` (which ``Decimal()`` accepts) are refused, and on success
    it sets ``field.data`` to the exact amount. Zero and negatives are refused unless allowed.
    """

    def __init__(self, *, allow_zero: bool = False, allow_negative: bool = False):
        self.allow_zero, self.allow_negative = allow_zero, allow_negative

    def __call__(self, form: Any, field: Any) -> None:
        from wtforms.validators import StopValidation

        raw = field.raw_data[0] if getattr(field, "raw_data", None) else field.data
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return  # blank is for Optional / DataRequired to judge
        # The grammar's reason replaces DecimalField's own "Not a valid decimal value".
        stale = list(field.process_errors)
        field.process_errors = []
        field.errors = [e for e in field.errors if e not in stale]
        try:
            amount = parse_amount(raw)
            check_sign(amount, allow_zero=self.allow_zero, allow_negative=self.allow_negative)
        except AmountError as exc:
            raise StopValidation(translated(exc)) from exc
        field.data = amount
