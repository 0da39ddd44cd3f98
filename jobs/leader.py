"""The scheduler's leader lock: of several scheduler processes (one per machine, for
availability), exactly one acts.

The lock is one Redis key holding the holder's identity (``host:pid:random``) with an expiry
(``SCHEDULER_LOCK_TTL`` seconds). The holder renews it on every loop of the scheduler
(``SCHEDULER_POLL_INTERVAL``, well inside the expiry); the others stand by and try to take it
on each loop. A holder that dies (kill -9, machine lost, frozen) stops renewing: the key
expires and the first standby to try takes over, at most TTL + poll seconds later. A holder
that stops cleanly releases the key, so a standby takes over on its next loop.

Renewal and release compare the stored identity first (one Lua script each, atomic in Redis),
so a holder that was frozen past the expiry cannot extend or delete a lock another process
took meanwhile: it learns it lost the lock and stands by. Every change of holder is written to
the audit trail and the scheduler's log. The jobs the scheduler starts have deterministic ids
and the reconciler claims rows with a compare-and-set, so the short overlap a frozen holder
could cause never doubles anything; the lock keeps the work (and the log) in one place.
"""

from __future__ import annotations

import os
import socket
import uuid

from redis import Redis

LOCK_KEY = "qingqian:scheduler:leader"

# Extend the expiry only if the key still holds our identity.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
# Delete the key only if it still holds our identity.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


def new_identity() -> str:
    """``host:pid:random``: names the process in the log and audit, unique across restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaderLock:
    """A lock with expiry in Redis, held by one identity, renewed by it, taken over on expiry."""

    def __init__(self, conn: Redis, ttl: float, identity: str | None = None, key: str = LOCK_KEY):
        if ttl <= 0:
            raise ValueError("the lock's expiry must be positive")
        self.conn, self.key = conn, key
        self.ttl_ms = max(1, int(ttl * 1000))
        self.identity = identity or new_identity()

    def holder(self) -> str | None:
        """Who holds the lock now (None: nobody; it expired or was released)."""
        value = self.conn.get(self.key)
        return value.decode() if isinstance(value, bytes) else value

    def acquire(self) -> bool:
        """Take the lock if nobody holds it; True if this identity holds it afterwards."""
        if self.conn.set(self.key, self.identity, nx=True, px=self.ttl_ms):
            return True
        return self.holder() == self.identity

    def renew(self) -> bool:
        """Push the expiry back by the TTL; False if the lock is no longer ours."""
        return bool(self.conn.eval(_RENEW, 1, self.key, self.identity, self.ttl_ms))

    def hold(self) -> bool:
        """Renew if ours, else try to take it: True if this identity is the leader now."""
        return self.renew() or self.acquire()

    def release(self) -> bool:
        """Give the lock up (a clean stop); False if it was not ours any more."""
        return bool(self.conn.eval(_RELEASE, 1, self.key, self.identity))


class Leadership:
    """The scheduler's side of the leader lock: hold or wait for it, and say when it changes."""

    def __init__(self, cfg, say):
        from jobs.queues import redis_connection

        ttl = max(1.0, float(cfg.get("SCHEDULER_LOCK_TTL", 30)))
        # Renew well inside the expiry, so one late loop does not lose the lock.
        self.poll = max(0.1, min(float(cfg.get("SCHEDULER_POLL_INTERVAL", 10)), ttl / 3))
        self.lock = LeaderLock(redis_connection(), ttl)
        self.say, self.leading, self.seen = say, False, None
        say(f"scheduler {self.lock.identity}: leader lock with a {ttl:g} s expiry, "
            f"checked every {self.poll:g} s")  # fmt: skip

    def check(self) -> bool:
        """True if this process holds the lock now (taken or renewed); logs every change."""
        try:
            leading = self.lock.hold()
            holder = self.lock.identity if leading else self.lock.holder()
        except Exception as exc:  # noqa: BLE001 - Redis down: act only once it answers again
            if self.leading:
                self.say(f"cannot reach Redis to renew the scheduler lock, standing by: {exc}")
            self.leading = False
            return False
        if leading and not self.leading:
            before = f" (after {self.seen})" if self.seen else ""
            self._changed(f"scheduler lock taken by {self.lock.identity}{before}")
        elif self.leading and not leading:
            self._changed(f"scheduler lock lost by {self.lock.identity} to {holder}; standing by")
        elif not leading and holder != self.seen:
            self.say(f"standing by: the scheduler lock is held by {holder or 'nobody'}")
        self.leading, self.seen = leading, holder
        return leading

    def _changed(self, message: str) -> None:
        from backoffice.models.audit import AuditAction
        from backoffice.services import audit

        self.say(message)
        try:
            audit.record_now(
                AuditAction.JOB,
                entity="scheduler_lock",
                entity_id=self.lock.identity[:64],
                actor=audit.Actor(None, "scheduler"),
                detail=message,
            )
        except Exception as exc:  # noqa: BLE001 - the database down must not stop scheduling
            self.say(f"could not audit the lock change: {exc}")

    def release(self) -> None:
        try:
            if self.lock.release():
                self._changed(f"scheduler lock released by {self.lock.identity}")
        except Exception as exc:  # noqa: BLE001 - stopping anyway; the key expires by itself
            self.say(f"could not release the scheduler lock: {exc}")
