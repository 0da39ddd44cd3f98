"""The Jobs page (SPEC §4): recent job runs with live progress, their errors, and a re-run.

The list is the ``job_run`` table (one row per RQ job id); progress bars poll a small JSON
endpoint; finance and admins may re-run a finished or failed job (``Action.RUN`` on
``job_run``, and the permission of the action the job performs: ``services/job_rights.py``),
by a CSRF-protected POST. Viewing follows the same permission table.
"""

from __future__ import annotations

from flask import current_app, flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.job import JobRun, JobStatus
from backoffice.permissions import Action
from backoffice.services.job_rights import may_rerun
from backoffice.services.job_text import job_label, job_summary
from backoffice.views.base import SecuredModelView, deny

RERUNNABLE = (JobStatus.FINISHED, JobStatus.FAILED)
BAR_CLASS = {
    JobStatus.QUEUED: "bg-secondary",
    JobStatus.RUNNING: "bg-info progress-bar-striped progress-bar-animated",
    JobStatus.FINISHED: "bg-success",
    JobStatus.FAILED: "bg-danger",
}


def _progress_bar(view, context, run: JobRun, name) -> Markup:
    percent = max(0, min(100, run.progress or 0))
    return Markup(
        '<div class="progress" style="min-width:8em" data-job-run="{id}">'
        '<div class="progress-bar {cls}" role="progressbar" style="width:{p}%" '
        'aria-valuenow="{p}" aria-valuemin="0" aria-valuemax="100">{p}%</div></div>'
    ).format(id=run.id, cls=BAR_CLASS.get(run.status, ""), p=percent)


def _status(view, context, run: JobRun, name) -> Markup:
    return Markup('<span data-job-status="{id}">{label}</span>').format(
        id=run.id, label=run.status.label if run.status else ""
    )


def _message(view, context, run: JobRun, name) -> Markup:
    # One line in the reader's language; the traceback stays in the worker's log (issue 11).
    return Markup('<span data-job-message="{id}">{msg}</span>').format(
        id=run.id, msg=job_summary(run)
    )


def _name(view, context, run: JobRun, name) -> str:
    return job_label(run.name)


def run_json(run: JobRun) -> dict:
    return {
        "id": run.id,
        "job_id": run.rq_job_id,
        "name": run.name,
        "status": run.status.value,
        "status_label": str(run.status.label),
        "progress": run.progress or 0,
        "message": job_summary(run),
        "attempts": run.attempts,
        "bar_class": BAR_CLASS.get(run.status, ""),
        "rerunnable": run.status in RERUNNABLE and may_rerun(current_user, run.name),
    }


class JobsView(SecuredModelView):
    """Recent job runs (newest first), live progress, errors, and the re-run button."""

    list_template = "admin/jobs_list.html"
    column_list = (
        "enqueued_at",
        "name",
        "status",
        "progress",
        "message",
        "started_at",
        "ended_at",
        "enqueued_by",
    )
    column_details_list = (
        "name",
        "status",
        "progress",
        "attempts",
        "message",
        "enqueued_at",
        "enqueued_by",
        "started_at",
        "ended_at",
        "rq_job_id",
    )
    column_filters = ("status",)
    column_searchable_list = ("name", "rq_job_id")
    column_default_sort = ("enqueued_at", True)
    formatters = {"name": _name, "progress": _progress_bar, "status": _status, "message": _message}
    column_formatters = formatters
    column_formatters_detail = formatters
    # The export is read by people too: names and summaries, no markup.
    column_formatters_export = {
        "name": _name,
        "status": lambda v, c, run, n: str(run.status.label),
        "message": lambda v, c, run, n: job_summary(run),
        "progress": lambda v, c, run, n: f"{run.progress or 0}%",
    }
    column_labels = {"rq_job_id": _l("Job id")}

    @property
    def can_rerun(self) -> bool:
        return self.allowed(Action.RUN)

    def may_rerun(self, run: JobRun) -> bool:
        """The re-run button for this row: the permission of the action the job performs."""
        return may_rerun(current_user, run.name)

    @expose("/progress.json")
    def progress(self):
        """Status and progress of the given rows (``?id=1&id=2``), for the live bars."""
        ids = [int(i) for i in request.args.getlist("id") if i.isdigit()][:200]
        runs = list(db.session.scalars(select(JobRun).where(JobRun.id.in_(ids)))) if ids else []
        if current_app.config.get("REDIS_URL"):
            from jobs import sync_runs

            try:
                sync_runs(runs)  # e.g. a job RQ failed without our worker hooks
            except Exception:  # noqa: BLE001 - Redis down: show what the database knows
                db.session.rollback()
                current_app.logger.warning("job status sync failed", exc_info=True)
        return jsonify({"runs": [run_json(r) for r in runs]})

    @expose("/<int:run_id>/rerun", methods=("POST",))
    def rerun(self, run_id: int):
        """Re-run a finished or failed job (Action.RUN; CSRF-checked by Flask-WTF)."""
        if not self.can_rerun:
            return deny(self.resource, Action.RUN)
        run = db.session.get(JobRun, run_id)
        if run is not None and not self.may_rerun(run):
            # e.g. finance and the admin-only year-end transfer (Art.22)
            return deny(self.resource, f"{Action.RUN} {job_label(run.name)}")
        from jobs import JobBusy, QueueUnavailable
        from jobs import rerun as rerun_job

        try:
            run = rerun_job(run_id, user_id=current_user.id)
        except LookupError:
            flash(_("No such job run."), "error")
        except JobBusy:
            flash(_("This job is still queued or running; re-run it once it has ended."), "error")
        except QueueUnavailable:
            db.session.rollback()
            flash(
                _("The job queue cannot be reached; nothing was changed. Try again later."), "error"
            )
        except Exception as exc:  # noqa: BLE001 - e.g. Redis unreachable: say so, do not 500
            db.session.rollback()
            current_app.logger.exception("re-run of job run %s failed", run_id)
            flash(_("The job could not be queued: %(error)s", error=str(exc)), "error")
        else:
            flash(_("Job %(name)s queued again.", name=job_label(run.name)), "success")
        return redirect(url_for(".index_view"))
