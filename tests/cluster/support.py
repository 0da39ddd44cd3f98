"""The processes of the cluster test: two gunicorn web servers, two RQ workers, two schedulers
and moto's S3 server, each in a process group of its own with its log in a file, sharing
PostgreSQL, Redis and the bucket as separate machines would. ``Cluster.stop`` ends every one
of them (and RQ's work horses, which live in groups of their own), even after a failure."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from backoffice.config import BASE_DIR

BUCKET = "qingqian-cluster"
# Dropped from the test's own environment: each process gets the cluster's values instead.
_DROPPED = (
    "TEST_DATABASE_URL",
    "QQ_ENV",
    "REDIS_URL",
    "DATABASE_URL",
    "SECRET_KEY",
    "STORAGE_BACKEND",
    "STORAGE_DIR",
    "AUDIT_KEYS",
    "QQ_VAR_DIR",
    "MAIL_SERVER",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], Any], timeout: float, what: str, logs: Callable[[], str]):
    """Poll ``check`` until it returns something true; fail with the processes' logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen within {timeout} s\n{logs()}")


def descendants(pid: int) -> list[int]:
    """Pids of every live process below ``pid`` (gunicorn's workers, RQ's horse and its
    scheduler child), read from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Proc:
    """One started process: its name, Popen and log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(  # noqa: S603 - our own app and moto
            argv,
            cwd=BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one, and only ours
        )
        self.pid = self.popen.pid

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill_9(self) -> None:
        """kill -9 of the whole group (and of anything it forked into groups of its own)."""
        doomed = descendants(self.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM to the group, then SIGKILL to whatever is left of it and below it."""
        doomed = descendants(self.pid)
        if self.alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)
        self._log.close()


class Cluster:
    """Start, find and stop the cluster's processes. ``env_for(name)`` is a machine's
    environment: the shared settings, and a var folder of its own (no shared disk)."""

    def __init__(self, root: Path, database_url: str, redis_url: str, audit_key_file: str):
        self.root = root
        self.logs_dir = root / "logs"
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, Proc] = {}
        self.s3_port = free_port()
        self.s3_url = f"http://127.0.0.1:{self.s3_port}"
        self.web_ports: dict[str, int] = {}
        self.shared = {k: v for k, v in os.environ.items() if k not in _DROPPED}
        self.shared.update(
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            SECRET_KEY="cluster-test-shared-secret",  # noqa: S106 - the same on every machine
            AUDIT_KEY_FILE=audit_key_file,  # one key ring, deployed to every machine
            STORAGE_BACKEND="s3",
            S3_BUCKET=BUCKET,
            S3_ENDPOINT_URL=self.s3_url,
            S3_REGION="us-east-1",
            AWS_ACCESS_KEY_ID="cluster-test",
            AWS_SECRET_ACCESS_KEY="cluster-test",  # noqa: S106 - moto accepts any
            PYTHONPATH=str(BASE_DIR),  # workers import tests.jobs.sample_jobs for the reconciler
            # Fast enough for a test: reconcile every second, the lock expires after 4 s of
            # silence and is checked every second; no daily tick (only this test's work runs).
            JOB_RECONCILE_INTERVAL="1",
            JOB_RECONCILE_GRACE="2",
            SCHEDULER_AT_HOUR="24",
            SCHEDULER_LOCK_TTL="4",
            SCHEDULER_POLL_INTERVAL="1",
            MONTHLY_STATEMENT_CHUNK="2",
        )

    def env_for(self, name: str) -> dict[str, str]:
        var = self.root / name
        var.mkdir(exist_ok=True)
        return {**self.shared, "QQ_VAR_DIR": str(var)}

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(
            f"--- {n} (pid {p.pid}) ---\n{p.text()[-tail:]}" for n, p in self.procs.items()
        )

    def _start(self, name: str, argv: list[str]) -> Proc:
        proc = Proc(name, argv, self.env_for(name), self.logs_dir)
        self.procs[name] = proc
        return proc

    def start_s3(self) -> None:
        self._start(
            "s3", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.s3_port)]
        )

        def bucket() -> bool:
            assert self.procs["s3"].alive(), self.logs()
            try:
                self.s3().create_bucket(Bucket=BUCKET)
            except Exception:  # noqa: BLE001 - not listening yet
                return False
            return True

        wait_until(bucket, 90, "moto's S3 server", self.logs)

    def s3(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.s3_url,
            region_name="us-east-1",
            aws_access_key_id="cluster-test",
            aws_secret_access_key="cluster-test",  # noqa: S106
        )

    def start_web(self, name: str) -> None:
        port = self.web_ports[name] = free_port()
        self._start(
            name,
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "1",
                "--timeout",
                "120",
                "--bind",
                f"127.0.0.1:{port}",
                "--no-control-socket",
                "app:app",
            ],
        )

    def url(self, name: str, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.web_ports[name]}{path}"

    def wait_ready(self, name: str, timeout: float = 180) -> None:
        """/readyz of a web process says 200: its database, Redis and S3 all answer."""

        def ready() -> bool:
            assert self.procs[name].alive(), f"{name} exited\n{self.logs()}"
            try:
                return requests.get(self.url(name, "/readyz"), timeout=10).status_code == 200
            except requests.RequestException:
                return False

        wait_until(ready, timeout, f"{name} ready", self.logs)

    def start_flask(self, name: str, *command: str) -> None:
        self._start(name, [sys.executable, "-m", "flask", "--app", "app", *command])

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):  # S3 last: the others may still write
            proc.stop()


def lock_holder_pid(holder: str | None) -> int | None:
    """The pid in a lock identity ``host:pid:random``."""
    found = re.fullmatch(r".+:(\d+):[0-9a-f]+", holder or "")
    return int(found[1]) if found else None
