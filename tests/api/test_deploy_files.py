"""The deployment files (deploy/): every command in the Procfile and the systemd units is run
with --help (Flask commands) or --check-config (gunicorn loads the app), so an entry point that
does not exist or an option that is wrong fails here; the environment they name is the one
config.py reads."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
INSTALL_DIR = "/opt/qingqian"


def procfile() -> dict[str, str]:
    entries = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def units() -> dict[str, configparser.ConfigParser]:
    out = {}
    for path in sorted((DEPLOY / "systemd").glob("*.service")):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str
        parser.read(path)
        out[path.name] = parser
    return out


def unit_commands(parser: configparser.ConfigParser) -> list[str]:
    commands = []
    service = parser["Service"]
    for key in ("ExecStartPre", "ExecStart"):
        value = service.get(key)
        if value:
            commands += [v for v in value.splitlines() if v.strip()]
    return commands


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "QQ_ENV")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.db'}", QQ_VAR_DIR=str(tmp_path))
    return env


def split(command: str) -> list[list[str]]:
    """The argv of each step (``a && b``), with ``${VAR:-default}`` as its default."""
    command = re.sub(r"\$\{(\w+):-([^}]*)\}", r"\2", command)
    steps = [shlex.split(part) for part in command.split("&&")]
    for argv in steps:
        program = Path(argv[0]).name
        if argv[0].startswith("/"):  # systemd: the install folder's venv
            assert argv[0] == f"{INSTALL_DIR}/.venv/bin/{program}", argv[0]
        assert program in ("flask", "gunicorn"), argv
    return steps


def check(app, command: str) -> None:
    """Each step's entry point exists and takes its options: a Flask command is asked for
    --help through the real ``flask`` CLI group (plugins such as ``db`` included); gunicorn's
    options go through gunicorn's own parser and must name ``app:app``, which app.py defines."""
    from flask.cli import FlaskGroup
    from gunicorn.config import Config

    for argv in split(command):
        if Path(argv[0]).name == "flask":
            assert argv[1:3] == ["--app", "app"], argv
            result = app.test_cli_runner().invoke(
                FlaskGroup(create_app=lambda: app), [*argv[3:], "--help"]
            )
            assert result.exit_code == 0, (argv, result.output)
        else:
            parsed = Config().parser().parse_args(argv[1:])
            assert parsed.args == ["app:app"], argv
            assert re.search(r"^app = create_app\(\)$", (ROOT / "app.py").read_text(), re.M)


def test_the_procfile_names_web_worker_scheduler_and_release():
    """One process type each for web, worker, scheduler, and the release step."""
    assert set(procfile()) == {"release", "web", "worker", "scheduler"}


@pytest.mark.parametrize("name", ["release", "web", "worker", "scheduler"])
def test_each_procfile_command_is_valid(app, name):
    """The Procfile's commands exist and accept their options."""
    check(app, procfile()[name])


def test_systemd_units_cover_the_three_processes():
    """A unit for web, for worker instances and for the one scheduler; each restarts and
    reads the shared environment file from the install folder."""
    found = units()
    assert set(found) == {
        "qingqian-web.service",
        "qingqian-worker@.service",
        "qingqian-scheduler.service",
    }
    for name, parser in found.items():
        service = parser["Service"]
        assert service["WorkingDirectory"] == INSTALL_DIR, name
        assert service["EnvironmentFile"] == "/etc/qingqian/qingqian.env", name
        assert service["Restart"] == "always", name
        assert parser["Install"]["WantedBy"] == "multi-user.target", name


@pytest.mark.parametrize(
    "name", ["qingqian-web.service", "qingqian-worker@.service", "qingqian-scheduler.service"]
)
def test_each_systemd_command_is_valid(app, name):
    """ExecStartPre/ExecStart run the venv's flask or gunicorn with valid arguments."""
    commands = unit_commands(units()[name])
    assert commands
    for command in commands:
        check(app, command)


def test_the_web_command_really_loads_the_app(tmp_path):
    """gunicorn --check-config imports app:app with the unit's options (one real start)."""
    service = units()["qingqian-web.service"]["Service"]
    argv = split(service["ExecStart"])[0]
    result = subprocess.run(
        [str(BIN / "gunicorn"), "--check-config", *argv[1:]],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_environment_example_names_what_production_needs():
    """Every variable of the example is one config.py (or boto3) reads, and production's
    required ones are all there."""
    text = (DEPLOY / "qingqian.env.example").read_text()
    names = re.findall(r"^([A-Z][A-Z0-9_]*)=", text, re.M)
    config = (ROOT / "backoffice" / "config.py").read_text()
    for name in names:
        assert name.startswith("AWS_") or f'"{name}"' in config, name
    required = {
        "QQ_ENV",
        "SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "AUDIT_KEY_FILE",
        "STORAGE_BACKEND",
    }
    assert required <= set(names)
    assert re.search(r"^QQ_ENV=production$", text, re.M)
