"""The per-token rate limit: a fixed window counted in Redis, shared by every web process.

``API_RATE_LIMIT`` requests per ``API_RATE_WINDOW`` seconds per token; the next one gets 429
with ``Retry-After`` (seconds until the window ends). Without ``REDIS_URL`` (an embedded test
set-up) nothing is counted; when Redis stops answering the call is let through and logged,
since refusing every integration because a counter is unreachable helps nobody.
"""

from __future__ import annotations

import math
import time

from flask import current_app
from flask_babel import lazy_gettext as _l
from redis import Redis
from redis.exceptions import RedisError

from backoffice.api.problems import ApiProblem

KEY = "qq:api:rate:{token}:{window}"


def _redis() -> Redis | None:
    cfg = current_app.config
    url = cfg.get("REDIS_URL")
    if not url:
        return None
    cache = current_app.extensions.setdefault("qq_api_redis", {})
    if url not in cache:  # one connection pool per process, not one per request
        cache[url] = Redis.from_url(
            url,
            socket_connect_timeout=cfg.get("REDIS_CONNECT_TIMEOUT", 2),
            socket_timeout=cfg.get("REDIS_SOCKET_TIMEOUT", 5),
        )
    return cache[url]


def check(token_id: int, now: float | None = None) -> dict[str, str]:
    """Count one call of ``token_id``; the RateLimit headers to send, or 429 past the limit."""
    conn = _redis()
    if conn is None:
        return {}
    cfg = current_app.config
    limit, window = int(cfg["API_RATE_LIMIT"]), max(1, int(cfg["API_RATE_WINDOW"]))
    now = time.time() if now is None else now
    start = int(now // window) * window
    key = KEY.format(token=token_id, window=start)
    try:
        pipe = conn.pipeline()
        pipe.incr(key)
        pipe.expire(key, window + 5)
        count = int(pipe.execute()[0])
    except (RedisError, OSError) as exc:
        current_app.logger.warning("API rate limit not counted: Redis does not answer (%s)", exc)
        return {}
    reset = max(1, math.ceil(start + window - now))
    headers = {
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": str(max(0, limit - count)),
        "RateLimit-Reset": str(reset),
    }
    if count > limit:
        raise ApiProblem(
            "rate-limited",
            _l("At most %(limit)s requests every %(window)s seconds", limit=limit, window=window),
            headers={**headers, "Retry-After": str(reset)},
        )
    return headers
