"""Declarative base and the column types every aggregate shares.

Money is exact everywhere: ``NUMERIC(18,2)`` on PostgreSQL and integer cents on SQLite, so
sums computed in SQL never go through floating point.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext
from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    MetaData,
    Numeric,
    String,
    TypeDecorator,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, registry

CENT = Decimal("0.01")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_today() -> date:
    """Today in Asia/Shanghai, the company's calendar (views, jobs and the API use this)."""
    return datetime.now(SHANGHAI).date()


def to_money(value: Any) -> Decimal:
    """Round a number to cents, half up (the way the ledger prints it)."""
    if value is None:
        return Decimal("0.00")
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


class Money(TypeDecorator):
    """An exact amount in yuan: NUMERIC(18,2) on PostgreSQL, integer cents on SQLite."""

    impl = Numeric(18, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(18, 2, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = to_money(value)
        if dialect.name == "sqlite":
            return int(value * 100)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / 100).quantize(CENT)
        return to_money(value)

    def coerce_compared_value(self, op, value):
        return self


class Rate(TypeDecorator):
    """A daily rate such as 0.0005 (0.05 % a day), exact; stored as text on SQLite."""

    impl = Numeric(12, 8)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(Numeric(12, 8, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(str(value))
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(str(value))


class UTCDateTime(TypeDecorator):
    """Timezone-aware timestamps, stored in UTC (SQLite keeps no zone, so we add it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            # A time typed into a form or filter is Shanghai local time.
            value = value.replace(tzinfo=SHANGHAI)
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class LabeledEnum(str, enum.Enum):  # noqa: UP042 - members carry a label; values persist as-is
    """A state enum whose members carry a translatable label: ``X = "x", _l("X")``."""

    label: Any

    def __new__(cls, value: str, label: Any = None):
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label if label is not None else value
        return obj

    def __str__(self) -> str:  # shown in forms and lists
        return str(self.label)

    @classmethod
    def choices(cls) -> list[tuple[str, Any]]:
        return [(m.value, m.label) for m in cls]


def enum_column(enum_cls: type[LabeledEnum], **kw) -> Any:
    """A portable enum column that stores the member's value (not its name)."""
    return mapped_column(
        SAEnum(
            enum_cls,
            values_callable=lambda e: [m.value for m in e],
            native_enum=False,
            length=32,
            validate_strings=True,
        ),
        **kw,
    )


def _l(text: str) -> Any:
    return lazy_gettext(text)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING),
        type_annotation_map={
            Decimal: Money(),
            datetime: UTCDateTime(),
            date: Date(),
            str: String(255),
        },
    )

    #: Resource name in the permission table; the table name by default.
    __resource__: str | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self, 'id', '?')}>"

    def __str__(self) -> str:
        for attr in ("display_name", "name", "number", "doc_no", "code"):
            value = getattr(self, attr, None)
            if value:
                return str(value)
        return f"{type(self).__name__} #{getattr(self, 'id', '?')}"


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ScopedMixin:
    """Rows that belong to a company and a sales unit, so row scoping can filter them.

    The scope columns are copied from the owning customer when the row is created, so every
    scoped list filters on an indexed column of its own table.
    """

    @declared_attr
    def company_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("company.id"), index=True)

    @declared_attr
    def sales_unit_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("sales_unit.id"), index=True)
