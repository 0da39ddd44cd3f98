"""Queues and the connection to Redis: queue names, the JSON serializer, deterministic job ids,
a connection with short timeouts and the check that Redis answers."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.serializers import JSONSerializer

QUEUE_DEFAULT = "default"
QUEUE_IMPORTS = "imports"
QUEUE_REPORTS = "reports"
QUEUES = (QUEUE_IMPORTS, QUEUE_REPORTS, QUEUE_DEFAULT)  # in priority order

SERIALIZER = JSONSerializer
RETRY_INTERVALS = (10, 60, 300)  # seconds before the 1st, 2nd, 3rd… retry
RESULT_TTL = 7 * 24 * 3600
FAILURE_TTL = 30 * 24 * 3600

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class JobBusy(Exception):
    """A re-run was asked for a job that is queued or running."""


class QueueUnavailable(RuntimeError):
    """Redis cannot be reached (or REDIS_URL is unset): nothing was enqueued or recorded."""


def make_job_id(name: str, *parts: Any) -> str:
    """The deterministic RQ job id for ``name`` over ``parts``: ``monthly-run_2026-10``.

    RQ allows only letters, digits, ``_`` and ``-``; anything else becomes ``-``.
    """
    return "_".join(_ID_UNSAFE.sub("-", str(p)).strip("-") for p in (name, *parts))


def redis_connection() -> Redis:
    """A connection with short timeouts: a request or command must not hang on a frozen Redis.

    (RQ's worker raises ``socket_timeout`` on its own connection above its blocking dequeue.)
    """
    url = current_app.config.get("REDIS_URL")
    if not url:
        raise QueueUnavailable("REDIS_URL is not set")
    cfg = current_app.config
    return Redis.from_url(
        url,
        socket_connect_timeout=cfg.get("REDIS_CONNECT_TIMEOUT", 2),
        socket_timeout=cfg.get("REDIS_SOCKET_TIMEOUT", 5),
    )


def require_queue(connection: Redis | None = None) -> Redis:
    """A connection to a Redis that answers now; raises ``QueueUnavailable`` otherwise.

    Callers check before they create anything that only makes sense with a job behind it.
    """
    from redis.exceptions import RedisError

    conn = connection or redis_connection()
    try:
        conn.ping()
    except (RedisError, OSError) as exc:
        raise QueueUnavailable(f"Redis does not answer ({exc})") from exc
    return conn


def get_queue(name: str = QUEUE_DEFAULT, connection: Redis | None = None) -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}; use one of {QUEUES}")
    return Queue(name, connection=connection or redis_connection(), serializer=SERIALIZER)


def fetch_rq_job(job_id: str, connection: Redis | None = None) -> Job | None:
    """The RQ job with this id, read with the JSON serializer, or None if Redis lost it."""
    try:
        return Job.fetch(job_id, connection=connection or redis_connection(), serializer=SERIALIZER)
    except NoSuchJobError:
        return None
