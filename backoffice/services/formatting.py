"""How amounts and times are shown: ¥1,234.50 with thousands separators; ISO dates."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$"}
SHANGHAI = ZoneInfo("Asia/Shanghai")


def format_money(value: Decimal | int | None, currency: str = "CNY") -> str:
    if value is None:
        return ""
    value = Decimal(value)
    sign = "-" if value < 0 else ""
    return f"{sign}{CURRENCY_SYMBOLS.get(currency, currency + ' ')}{abs(value):,.2f}"


def format_amount(value: Decimal | int | None) -> str:
    """Amount without symbol, for table cells: 1,234.50."""
    return "" if value is None else f"{Decimal(value):,.2f}"


def local_datetime(value: datetime | None) -> str:
    """A timestamp in Shanghai time, to the minute, as people read it: 2026-11-28 20:45."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def format_percent(value: Decimal | float | None) -> str:
    """A ratio as a percentage with one decimal (0.1234 → 12.3%); — when there is none."""
    return "—" if value is None else f"{Decimal(value) * 100:.1f}%"


def readable_value(value, label_of, yes: str, no: str) -> str:
    """A stored JSON value (an audit entry's before/after, a manifest) as people read it:
    field labels, 是/否, Shanghai time to the minute, — for nothing; never a Python repr."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return yes if value else no
    if isinstance(value, dict):
        return "；".join(
            f"{label_of(str(k))}：{readable_value(v, label_of, yes, no)}" for k, v in value.items()
        )
    if isinstance(value, list | tuple):
        inner = "、".join(readable_value(v, label_of, yes, no) for v in value)
        return f"［{inner}］" if any(isinstance(v, dict) for v in value) else inner
    if isinstance(value, str) and len(value) >= 16 and value[4] == "-" and value[10] in "T ":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return local_datetime(moment) if moment.tzinfo else moment.strftime("%Y-%m-%d %H:%M")
    return str(value)


def file_size(size: int | None) -> str:
    """A file's size as people read it: ``45 B``, ``30.2 KB``, ``1.5 MB`` (never a bare count)."""
    if size is None:
        return ""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


#: A file's media type as its kind: what the list's reader calls it.
FILE_KINDS = {
    "application/pdf": "PDF",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WebP",
    "image/tiff": "TIFF",
    "text/plain": "TXT",
    "text/csv": "CSV",
    "application/msword": "Word",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.ms-excel": "Excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
    "application/vnd.ms-powerpoint": "PowerPoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint",
}


def file_kind(content_type: str | None) -> str:
    """``application/pdf`` → ``PDF``; an unknown type is shown as it is."""
    return FILE_KINDS.get((content_type or "").split(";")[0].strip().lower(), content_type or "")
