"""The dashboard's figures, shared by every web process through Redis, one entry per scope
(issue 13).

At a million receivables the figures take seconds to compute (``dashboard.dashboard_figures``):
too long for a page view, and every gunicorn worker used to compute them again. Here:

- an entry per scope (``dashboard.scope_key``) and day holds the figures, the ledger version
  they were computed under and when they were computed;
- a view whose entry matches the current ledger version shows it as it is;
- after a ledger write the entry no longer matches: the view shows it at once, marked with the
  time it was computed ("截至 hh:mm", Asia/Shanghai), and puts a refresh on the job queue (one
  per scope at a time); a view never shows older figures without saying so;
- with no entry yet (a new scope, a new day) the view computes the figures itself;
- after an import or a monthly run (``refresh_all``) every known scope is refreshed in the
  background, so the next view is current;
- without Redis (``REDIS_URL`` unset or not answering) the process's own cache serves, as
  before (``ledger_cache.cached``), always current.

Entries are JSON (tagged decimals, dates and the dashboard's enums), never pickles: what Redis
holds cannot run code in the web process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from flask import current_app

from backoffice.extensions import db

log = logging.getLogger(__name__)

#: The shape of the cached figures. Bump it whenever ``dashboard_figures`` gains, loses or
#: changes a figure: entries written by the previous release are then never read (they expire
#: by their TTL), so an upgrade cannot serve a dashboard without its new figures.
FIGURES_SCHEMA = 2  # 2: 争议中 (issue 15)
PREFIX = f"qq:dashboard:v{FIGURES_SCHEMA}:"
SCOPES = PREFIX + "scopes"
#: An entry outlives its day by a little; a new day starts with its own entries.
TTL_SECONDS = 36 * 3600
#: How long one scope's refresh is taken to be under way (no second one is queued meanwhile).
REFRESH_LOCK_SECONDS = 300
#: After Redis failed to answer, the process cache serves for this long before Redis is tried.
RETRY_SECONDS = 30

_down_until = 0.0


class Record(dict):
    """A row of a cached figure: its columns by name, as attributes (``c.name``) too."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _enums() -> dict[str, type[Enum]]:
    from backoffice.services.aging import Bucket, DebtClass, Handling, ReportBucket

    return {cls.__name__: cls for cls in (Bucket, DebtClass, Handling, ReportBucket)}


def _encode(value: Any) -> Any:
    if isinstance(value, Enum):
        return {"$e": type(value).__name__, "v": value.value}
    if isinstance(value, Decimal):
        return {"$d": str(value)}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if hasattr(value, "_mapping"):  # a result row: keep its column names
        return {"$row": {k: _encode(v) for k, v in value._mapping.items()}}
    if isinstance(value, dict):
        return {"$map": {k: _encode(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any, enums: dict[str, type[Enum]]) -> Any:
    if isinstance(value, list):
        return [_decode(v, enums) for v in value]
    if not isinstance(value, dict):
        return value
    if "$e" in value:
        return enums[value["$e"]](value["v"])  # only the dashboard's own enums
    if "$d" in value:
        return Decimal(value["$d"])
    if "$dt" in value:
        return datetime.fromisoformat(value["$dt"])
    if "$date" in value:
        return date.fromisoformat(value["$date"])
    if "$row" in value:
        return Record({k: _decode(v, enums) for k, v in value["$row"].items()})
    return {k: _decode(v, enums) for k, v in value["$map"].items()}


def dumps(figures: dict[str, Any]) -> str:
    return json.dumps(_encode(figures), ensure_ascii=False, separators=(",", ":"))


def loads(text: str | bytes) -> dict[str, Any]:
    return _decode(json.loads(text), _enums())


def _scope_id(scope: tuple) -> str:
    return hashlib.sha256(json.dumps(scope).encode()).hexdigest()[:16]


def _entry_key(scope: tuple, as_of: date) -> str:
    return f"{PREFIX}{_scope_id(scope)}:{as_of.isoformat()}"


def _redis():
    """A Redis that answers, or None (then the process cache serves)."""
    global _down_until
    if not current_app.config.get("REDIS_URL") or time.monotonic() < _down_until:
        return None
    from redis.exceptions import RedisError

    from jobs import redis_connection

    conn = redis_connection()
    try:
        conn.ping()
    except (RedisError, OSError) as exc:
        log.warning("dashboard cache: Redis does not answer (%s); using the process cache", exc)
        _down_until = time.monotonic() + RETRY_SECONDS
        return None
    return conn


def _user_of(scope: tuple) -> Any:
    """A stand-in user with exactly the scope ``scope`` (for a background refresh)."""
    from backoffice.permissions import R

    company_id, units = scope

    class ScopeUser:
        is_authenticated = True
        id = None
        unit_ids = set(units or ())
        role_names = frozenset({R.COLLECTOR}) if units is not None else frozenset({R.FINANCE})

    ScopeUser.company_id = company_id
    return ScopeUser()


def compute(conn, scope: tuple, as_of: date, user: Any = None) -> dict[str, Any]:
    """Compute ``scope``'s figures now, store them in Redis (if any) and return the entry."""
    from backoffice.services.dashboard import dashboard_figures
    from backoffice.services.ledger_cache import ledger_version

    version = ledger_version(db.session)  # read before the figures: never newer than them
    figures = dashboard_figures(user or _user_of(scope), as_of)
    entry = {
        "version": version,
        "computed_at": datetime.now(UTC),
        "scope": list(scope),
        "figures": figures,
    }
    if conn is not None:
        key = _entry_key(scope, as_of)
        text = dumps(entry)
        pipe = conn.pipeline()
        pipe.set(key, text, ex=TTL_SECONDS)
        pipe.hset(SCOPES, _scope_id(scope), json.dumps(scope))
        pipe.delete(key + ":refreshing")
        pipe.execute()
        entry = loads(text)
    return entry


def figures_for(user: Any, as_of: date) -> dict[str, Any]:
    """The dashboard figures for ``user``'s scope, plus ``stale_since``: None when they are
    current, else the time (hh:mm, Asia/Shanghai) they were computed, while a refresh is on
    its way."""
    from backoffice.services.dashboard import dashboard_figures, scope_key
    from backoffice.services.ledger_cache import cached, ledger_version

    scope = scope_key(user)
    conn = _redis()
    if conn is None:
        figures = cached(
            db.session, ("dashboard", scope), as_of, lambda: dashboard_figures(user, as_of)
        )
        return {**figures, "stale_since": None}
    raw = conn.get(_entry_key(scope, as_of))
    entry = compute(conn, scope, as_of, user) if raw is None else loads(raw)
    stale = entry["version"] != ledger_version(db.session)
    if stale:
        schedule_refresh(conn, scope, as_of)
    return {**entry["figures"], "stale_since": _clock(entry["computed_at"]) if stale else None}


def _clock(at: datetime) -> str:
    """``hh:mm`` in Asia/Shanghai (entries are per day, so the day goes without saying)."""
    from backoffice.services.formatting import SHANGHAI

    return at.astimezone(SHANGHAI).strftime("%H:%M")


def schedule_refresh(conn, scope: tuple, as_of: date) -> bool:
    """Queue one refresh of ``scope`` (none while one is under way); True if queued."""
    key = _entry_key(scope, as_of) + ":refreshing"
    if not conn.set(key, "1", nx=True, ex=REFRESH_LOCK_SECONDS):
        return False
    from jobs import get_queue

    get_queue(connection=conn).enqueue(
        "jobs.dashboard.refresh_scope",
        list(scope) if scope[1] is None else [scope[0], list(scope[1])],
        as_of.isoformat(),
        job_id=f"dashboard-refresh_{_scope_id(scope)}_{int(time.time())}",
        result_ttl=60,
        failure_ttl=3600,
        description="dashboard refresh",
    )
    return True


def refresh_all(conn=None) -> int:
    """Queue a refresh of every scope that has figures (after an import or a monthly run)."""
    from redis.exceptions import RedisError

    conn = conn or _redis()
    if conn is None:
        return 0
    today = date.today()
    count = 0
    try:
        for raw in conn.hvals(SCOPES):
            company_id, units = json.loads(raw)
            scope = (company_id, tuple(units) if units is not None else None)
            count += schedule_refresh(conn, scope, today)
    except (RedisError, OSError) as exc:  # the views mark old figures and queue it themselves
        log.warning("dashboard refresh not queued: %s", exc)
    return count


def refresh_scope(scope: list, as_of: str) -> None:
    """Recompute one scope's figures (the RQ job behind ``schedule_refresh``)."""
    company_id, units = scope
    key = (company_id, tuple(units) if units is not None else None)
    compute(_redis(), key, date.fromisoformat(as_of))
