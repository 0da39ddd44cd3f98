"""Art.26(4), 2nd paragraph, on the accountability register: a member who missed the year's
collection target gets "no commission, no year-end bonus" beside the holds of Art.26(1)/(4).

The figures are ``scorecard.missed_targets`` (approved bases, approved policy); this module only
turns them into register rows. A year counts once it has ended: a year in progress has not been
missed yet. The register in force shows the last ended year; the full register every ended year
that has approved member bases.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.base import SHANGHAI
from backoffice.models.setting import Target
from backoffice.models.user import User
from backoffice.services import holds, scorecard


def _ended_years(session: Session, active_only: bool) -> list[int]:
    last = datetime.now(SHANGHAI).year - 1
    if active_only:
        return [last]
    periods = session.scalars(
        select(Target.period).where(Target.user_id.is_not(None)).distinct()
    ).all()
    return sorted({int(p) for p in periods if len(p) == 4 and p.isdigit() and int(p) <= last})


def register_flags(session: Session, active_only: bool) -> Iterable[holds.RegisterRow]:
    """Art.26(4): one register row per member and ended year whose target was missed."""
    rows = []
    for year in _ended_years(session, active_only):
        for missed in scorecard.missed_targets(session, year):
            person = session.get(User, missed.user_id)
            if person is None:
                continue
            rows.append(
                holds.RegisterRow(
                    person=person,
                    what=gettext("No commission, no year-end bonus"),
                    basis=gettext("Art.26(4): the year's collection target missed"),
                    source=gettext(
                        "%(year)s target: base %(base)s, weighted collections %(weighted)s",
                        year=year,
                        base=f"{missed.base:,.2f}",
                        weighted=f"{missed.weighted:,.2f}",
                    ),
                    unrecovered=None,
                    since=datetime(year + 1, 1, 1, tzinfo=SHANGHAI),
                    lifted_at=None,
                    lift_reason=None,
                )
            )
    return rows


holds.FLAG_SOURCES.append(register_flags)
