"""The run command's supervisor: it keeps Redis, the RQ workers, the scheduler and the web up.

A child that exits while the run command is not stopping is started again after a back-off
(1 s, then doubling up to 30 s; back to 1 s once it has stayed up a minute), and the log says
which child died, how, and when it comes back. Ctrl-C or SIGTERM stops every child, Redis
last. The embedded Redis comes back on the same port with its append-only file, so what was
queued survives; what it lost anyway the reconciler (jobs.reconcile) puts back.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import click

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0  # seconds up before a child's back-off starts from BACKOFF_FIRST again


def log(message: str) -> None:
    click.echo(f"{datetime.now():%H:%M:%S} [serve] {message}", err=True)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


@dataclass
class Child:
    """One supervised process: how to start it, and its restart state."""

    name: str
    start: Callable[[], subprocess.Popen]
    ready: Callable[[], bool] = lambda: True  # e.g. Redis answers ping
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = BACKOFF_FIRST
    restart_at: float | None = None
    extra: dict = field(default_factory=dict)

    def launch(self) -> None:
        self.proc = self.start()
        self.started_at = time.monotonic()
        self.restart_at = None
        log(f"{self.name} started (pid {self.proc.pid})")


class Supervisor:
    """Starts the children in order, restarts the ones that die, stops them all on request."""

    def __init__(self) -> None:
        self.first: list[Child] = []  # Redis: stopped last
        self.rest: list[Child] = []
        self.stopping = False

    @property
    def children(self) -> list[Child]:
        return self.first + self.rest

    def add(self, child: Child, *, infrastructure: bool = False) -> Child:
        (self.first if infrastructure else self.rest).append(child)
        child.launch()
        return child

    def check(self) -> None:
        """Notice children that died and restart those whose back-off has passed."""
        now = time.monotonic()
        for child in self.children:
            if self.stopping:
                return
            proc = child.proc
            if child.restart_at is None and proc is not None and proc.poll() is not None:
                if now - child.started_at > STABLE_AFTER:
                    child.backoff = BACKOFF_FIRST
                child.restart_at = now + child.backoff
                log(
                    f"{child.name} (pid {proc.pid}) {describe_exit(proc.returncode)}; "
                    f"restarting in {child.backoff:g} s"
                )
                child.backoff = min(BACKOFF_MAX, child.backoff * 2)
            if child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                try:
                    child.launch()
                except Exception as exc:  # noqa: BLE001 - e.g. the port is taken: try later
                    child.restart_at = now + child.backoff
                    log(f"{child.name} could not be started ({exc}); trying again")
                    continue
                if child.ready():
                    log(f"{child.name} restarted (restart {child.restarts})")
                else:
                    log(f"{child.name} restarted but is not answering yet")

    def run_forever(self, interval: float = 0.5) -> None:
        while not self.stopping:
            self.check()
            time.sleep(interval)

    def stop(self) -> None:
        """Stop every child (workers finish the job in hand), then Redis (it saves)."""
        self.stopping = True
        _terminate([c.proc for c in self.rest if c.proc], grace=20)
        _terminate([c.proc for c in self.first if c.proc], grace=10)

    def any_exited(self) -> bool:
        return any(c.proc is None or c.proc.poll() is not None for c in self.children)


def _terminate(group: list[subprocess.Popen], grace: float) -> None:
    for p in group:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + grace
    for p in group:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def flask_child(env: dict, *args: str) -> Callable[[], subprocess.Popen]:
    return spawn([sys.executable, "-m", "flask", "--app", "app", *args], env)


def spawn(cmd: list[str], env: dict) -> Callable[[], subprocess.Popen]:
    """A starter for ``cmd`` in a session of its own: only ``serve`` signals it (one SIGTERM,
    so RQ shuts down warm and finishes the job in hand instead of taking Ctrl-C twice)."""
    return lambda: subprocess.Popen(cmd, env=env, start_new_session=True)  # noqa: S603
