"""The Chinese working-day calendar (工作日, incl. 调休 make-up days), editable by admins."""

from __future__ import annotations

from datetime import date

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models.base import Base, TimestampMixin


class CalendarYear(TimestampMixin, Base):
    """A year the calendar knows. Without a row here, date arithmetic for the year refuses."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(64))  # "chinesecalendar 1.11.0" or "admin"
    note: Mapped[str | None] = mapped_column(String(300))


class CalendarDay(Base):
    """Every day of a known year: whether it is a working day, and the holiday's name."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(primary_key=True)
    is_workday: Mapped[bool]
    name: Mapped[str | None] = mapped_column(String(64))
