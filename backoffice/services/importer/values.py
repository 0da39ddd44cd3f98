"""Import values (SPEC §3.1): amounts, dates, text, document types, payment kinds, currencies."""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from backoffice.models.receivable import PaymentKind, ReceivableType
from backoffice.services import amounts


def N_(text: str) -> str:  # noqa: N802 - Babel's default keyword for "translate later"
    return text


def parse_amount(value: Any) -> Decimal:
    """The signed amount in a cell, by the one grammar in ``backoffice/services/amounts.py``.

    Raises ``amounts.AmountError`` (a ``ValueError``) whose code names the reason.
    """
    return amounts.parse_amount(value)


def normalize_header(text: Any) -> str:
    """Compare headers loosely: full-width → half-width, case, spaces, ``*``, units in ()."""
    s = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    s = re.sub(r"\((元|rmb|cny|yuan)\)$", "", s)
    return re.sub(r"[\s*:_.]", "", s)


EXCEL_EPOCH = date(1899, 12, 30)
_YMD = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SERIAL = re.compile(r"\d{1,6}(\.\d+)?")


def _checked(d: date) -> date:
    if not 1900 <= d.year <= 2199:
        raise ValueError("year out of range")
    return d


def parse_date(value: Any) -> date:
    """Excel serials, date cells, ``2026-03-01``, ``2026/3/1``, ``2026年3月1日``,
    ``20260301`` (also with a time after it). Raises ``ValueError`` otherwise."""
    if isinstance(value, datetime):
        return _checked(value.date())
    if isinstance(value, date):
        return _checked(value)
    if isinstance(value, bool):
        raise ValueError("not a date")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("not a date")
        return _from_number(value)
    s = unicodedata.normalize("NFKC", str(value)).strip()
    s = re.split(r"[ T]\d{1,2}:\d{2}", s, maxsplit=1)[0].strip()
    if m := _YMD.fullmatch(s):
        return _checked(date(int(m[1]), int(m[2]), int(m[3])))
    if m := _COMPACT.fullmatch(s):
        return _checked(date(int(m[1]), int(m[2]), int(m[3])))
    if _SERIAL.fullmatch(s):
        return _from_number(float(s))
    raise ValueError("not a date")


def _from_number(n: float) -> date:
    if 19000101 <= n <= 21991231 and n == int(n):
        return parse_date(str(int(n)))
    if 1 <= n <= 109_574:  # 2199-12-31
        return _checked(EXCEL_EPOCH + timedelta(days=int(n)))
    raise ValueError("not a date")


def text(value: Any) -> str:
    """A cell as clean text: numbers without a trailing ``.0``, full-width folded."""
    if type(value) is str:  # most cells: NFKC leaves ASCII as it is
        return value.strip() if value.isascii() else unicodedata.normalize("NFKC", value).strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return unicodedata.normalize("NFKC", str(value)).strip()


DOC_TYPES = {
    "product": ReceivableType.PRODUCT,
    "货款": ReceivableType.PRODUCT,
    "产品货款": ReceivableType.PRODUCT,
    "销售发票": ReceivableType.PRODUCT,
    "project": ReceivableType.PROJECT,
    "工程款": ReceivableType.PROJECT,
    "项目款": ReceivableType.PROJECT,
    "工程项目款": ReceivableType.PROJECT,
    "freight": ReceivableType.FREIGHT,
    "运费": ReceivableType.FREIGHT,
    "代垫运费": ReceivableType.FREIGHT,
    "垫付运费": ReceivableType.FREIGHT,
}


_DOC_TYPE_NAMES: dict[str, dict[str, ReceivableType]] = {}


def _doc_type_names() -> dict[str, ReceivableType]:
    """Codes and (translated) labels of the document types, built once per locale: looking
    labels up per row would translate them a hundred thousand times."""
    from flask_babel import get_locale

    locale = str(get_locale())
    names = _DOC_TYPE_NAMES.get(locale)
    if names is None:
        names = {}
        for member in ReceivableType:
            names[member.value] = member
            names[normalize_header(member.label)] = member
        _DOC_TYPE_NAMES[locale] = names
    return names


def parse_doc_type(value: Any) -> ReceivableType:
    """Art.2: product payment, project payment or advanced freight; blank means product."""
    s = normalize_header(value)
    if not s:
        return ReceivableType.PRODUCT
    member = _doc_type_names().get(s)
    if member is not None:
        return member
    if s in DOC_TYPES:
        return DOC_TYPES[s]
    if "运费" in s:
        return ReceivableType.FREIGHT
    if "工程" in s or "项目" in s:
        return ReceivableType.PROJECT
    if "货" in s or "发票" in s or "销售" in s:
        return ReceivableType.PRODUCT
    raise ValueError("unknown document type")


def parse_payment_kind(value: Any) -> PaymentKind:
    """回款 / 收款 = payment; 红字 / 贷项 / 折让 / credit note = credit note; blank = payment."""
    s = normalize_header(value)
    if not s or s in ("回款", "收款", "payment", "货款回款", "银行收款"):
        return PaymentKind.PAYMENT
    if s in ("红字", "贷项", "贷项通知单", "红字发票", "creditnote", "credit", "折让"):
        return PaymentKind.CREDIT_NOTE
    if "红字" in s or "贷项" in s:
        return PaymentKind.CREDIT_NOTE
    if "回款" in s or "收款" in s:
        return PaymentKind.PAYMENT
    raise ValueError("unknown payment type")


CURRENCIES = {"人民币": "CNY", "rmb": "CNY", "美元": "USD", "欧元": "EUR", "港币": "HKD",
              "港元": "HKD", "日元": "JPY"}  # fmt: skip


def parse_currency(value: Any) -> str:
    s = normalize_header(value)
    if not s:
        return "CNY"
    if s in CURRENCIES:
        return CURRENCIES[s]
    if re.fullmatch(r"[a-z]{3}", s):
        return s.upper()
    raise ValueError("unknown currency")
