"""The run command's supervisor (backoffice/cli/supervisor.py): a child that dies is restarted
after a back-off that doubles, the log says so, and stop() ends every child."""

from __future__ import annotations

import sys
import time

from backoffice.cli.supervisor import Child, Supervisor, spawn


def test_a_crashing_child_is_restarted_with_doubling_back_off(capsys):
    """A child that exits at once is restarted after 0.1 s, then 0.2 s, then 0.4 s, each time
    logged with how it died; a healthy sibling is left alone; stop() ends both."""
    sup = Supervisor()
    crasher = sup.add(Child("crasher", spawn([sys.executable, "-c", "raise SystemExit(3)"], {})))
    crasher.backoff = 0.1
    steady = sup.add(Child("steady", spawn([sys.executable, "-c", "import time; time.sleep(60)"],
                                           {})))  # fmt: skip
    steady_pid = steady.proc.pid
    deadline = time.monotonic() + 10
    while crasher.restarts < 3 and time.monotonic() < deadline:
        sup.check()
        time.sleep(0.02)
    log = capsys.readouterr().err
    assert crasher.restarts == 3, log
    for delay in ("0.1", "0.2", "0.4"):
        assert "crasher (pid " in log and f"exited with status 3; restarting in {delay} s" in log
    assert "crasher restarted (restart 3)" in log
    assert steady.proc.pid == steady_pid and steady.restarts == 0
    sup.stop()
    assert steady.proc.poll() is not None and crasher.proc.poll() is not None
    sup.check()  # stopping: nothing is restarted any more
    assert crasher.restarts == 3
