"""Re-running a job needs the permission of the action the job performs (SPEC §2, §4)."""

from __future__ import annotations

import importlib
import pkgutil

import jobs
from backoffice.models import RoleName
from backoffice.permissions import PERMISSIONS
from backoffice.services.job_rights import JOB_ACTIONS, may_rerun


class OneRole:
    is_authenticated = True

    def __init__(self, *roles: RoleName):
        self.role_names = frozenset(roles)


def job_functions() -> set[str]:
    """The names of every ``@job`` function in the ``jobs`` package (``JobRun.name``)."""
    names = set()
    for info in pkgutil.iter_modules(jobs.__path__):
        module = importlib.import_module(f"jobs.{info.name}")
        for value in vars(module).values():
            code = getattr(value, "__code__", None)
            if (
                getattr(value, "__wrapped__", None) is not None
                and code is not None
                and code.co_name == "wrapper"
                and code.co_filename == jobs.job.__code__.co_filename
            ):
                names.add(value.__name__)
    return names


def test_every_job_maps_to_an_action_in_the_permission_table(app):
    """Each job of the package has an entry, and each entry names a real resource action."""
    with app.app_context():
        found = job_functions()
    assert {"year_end_archive", "monthly_run", "run_import"} <= found
    assert found <= set(JOB_ACTIONS), sorted(found - set(JOB_ACTIONS))
    for resource, action in JOB_ACTIONS.values():
        assert action in PERMISSIONS[resource], (resource, action)


def test_year_end_transfer_is_rerun_by_the_admin_only():
    """Finance may re-run the monthly run and an import but not the year-end transfer."""
    finance, admin = OneRole(RoleName.FINANCE), OneRole(RoleName.ADMIN)
    assert not may_rerun(finance, "year_end_archive")
    assert may_rerun(admin, "year_end_archive")
    assert may_rerun(finance, "monthly_run") and may_rerun(finance, "run_import")
    assert not may_rerun(OneRole(RoleName.AUDITOR), "verify_audit_chain")


def test_unknown_jobs_fall_back_to_the_jobs_page_permission():
    """A job not in the table (e.g. a test's sample job) needs the Jobs page's ``run``."""
    assert may_rerun(OneRole(RoleName.FINANCE), "add")
    assert not may_rerun(OneRole(RoleName.TEAM_LEAD), "add")
    assert not may_rerun(OneRole(RoleName.TEAM_LEAD), "daily_escalation")
