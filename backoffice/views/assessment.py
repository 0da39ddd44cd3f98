"""The assessment pages (Art.26(4), 27–30): the year's policy, bases, grades, scorecards, flags.

One hub per year (``/admin/assessment/?year=2026``). Each form posts to its own endpoint, which
checks the permission table and calls the rule in ``services/assessment.py`` or
``services/scorecard.py``; a refusal changes nothing, is audited and shows its message. The
scorecard's own page, its amendment, approval and PDF are in ``views/scorecard_pages.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.assessment import (
    ApprovalState,
    AssessmentPolicy,
    DebtGrade,
    DifficultyGrade,
    Scorecard,
)
from backoffice.models.audit import AuditAction
from backoffice.models.base import SHANGHAI
from backoffice.models.org import Company, SalesUnit
from backoffice.models.setting import Target
from backoffice.models.user import User
from backoffice.permissions import Action, can
from backoffice.services import assessment, audit, scorecard
from backoffice.services.transitions import StaleStateError
from backoffice.views.base import deny
from backoffice.views.scorecard_pages import ScorecardPages


def this_year() -> int:
    return datetime.now(SHANGHAI).year


def company_id_of(user: Any) -> int | None:
    """The user's company; for group-wide users, the first company set up (the group)."""
    if getattr(user, "company_id", None) is not None:
        return user.company_id
    return db.session.scalar(select(Company.id).order_by(Company.id).limit(1))


class AssessmentView(ScorecardPages, BaseView):
    RESOURCES = ("target", "assessment_policy", "debt_grade", "scorecard")

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and any(
            can(current_user, r, Action.VIEW) for r in self.RESOURCES
        )

    def is_visible(self) -> bool:
        return self.is_accessible()

    def inaccessible_callback(self, name, **kwargs):
        return deny("assessment", Action.VIEW)

    # -- helpers -------------------------------------------------------------------------------

    def _require(self, resource: str, action: Action) -> None:
        if not can(current_user, resource, action):
            deny(resource, action)

    def _year(self) -> int:
        try:
            return int(request.values.get("year") or this_year())
        except ValueError:
            return this_year()

    def _back(self, year: int | None = None, anchor: str = ""):
        return redirect(url_for(".index", year=year or self._year()) + anchor, code=303)

    def _refused(self, resource: str, op: str, exc: Exception, entity_id: Any = None):
        """Roll back, audit the refusal, show the message on the hub."""
        db.session.rollback()
        audit.record_now(
            AuditAction.REFUSED, entity=resource, entity_id=entity_id, detail=f"{op}: {exc}"
        )
        flash(str(exc), "error")
        return self._back()

    # -- the hub --------------------------------------------------------------------------------

    @expose("/")
    def index(self):
        year = self._year()
        company_id = company_id_of(current_user)
        policy = (
            assessment.policy_for(db.session, company_id, year) if company_id is not None else None
        )
        targets = db.session.scalars(
            select(Target)
            .where(Target.company_id == company_id, Target.period.like(f"{year}%"))
            .order_by(Target.period, Target.sales_unit_id, Target.user_id)
        ).all()
        grades = db.session.scalars(
            select(DebtGrade)
            .where(DebtGrade.company_id == company_id)
            .order_by(DebtGrade.case_id.desc())
            .limit(200)
        ).all()
        cards = db.session.scalars(
            select(Scorecard)
            .where(Scorecard.company_id == company_id, Scorecard.period.like(f"{year}%"))
            .order_by(Scorecard.period)
        ).all()
        user = current_user
        return self.render(
            "admin/assessment.html",
            year=year,
            policy=policy,
            defaults=assessment.POLICY_DEFAULTS,
            targets=targets,
            grades=grades,
            grade_choices=list(DifficultyGrade),
            cards=cards,
            missed=scorecard.missed_targets(db.session, year, company_id),
            units=db.session.scalars(select(SalesUnit).order_by(SalesUnit.name)).all(),
            members=db.session.scalars(
                select(User).where(User.active.is_(True)).order_by(User.display_name)
            ).all(),
            approved=ApprovalState.APPROVED,
            may={
                "policy": can(user, "assessment_policy", Action.EDIT),
                "approve_policy": can(user, "assessment_policy", Action.APPROVE),
                "propose": can(user, "target", Action.CREATE),
                "approve_target": can(user, "target", Action.APPROVE),
                "grade": can(user, "debt_grade", Action.EDIT),
                "regrade": can(user, "debt_grade", Action.RUN),
                "compute": can(user, "scorecard", Action.RUN),
                "scorecards": can(user, "scorecard", Action.VIEW),
            },
        )

    # -- Art.28: the policy ------------------------------------------------------------------------

    @expose("/policy", methods=("POST",))
    def policy_view(self):
        self._require("assessment_policy", Action.EDIT)
        year = self._year()
        values = {
            k: request.form.get(k) or assessment.POLICY_DEFAULTS[k]
            for k in assessment.POLICY_FIELDS
        }
        values["note"] = request.form.get("note")
        try:
            assessment.set_policy(
                db.session, current_user, company_id_of(current_user), year, values
            )
            db.session.commit()
        except (ValueError, ArithmeticError) as exc:
            return self._refused("assessment_policy", "set", exc)
        flash(_("The policy of %(year)s is proposed for approval.", year=year), "success")
        return self._back(year)

    @expose("/policy/<int:policy_id>/approve", methods=("POST",))
    def approve_policy_view(self, policy_id: int):
        self._require("assessment_policy", Action.APPROVE)
        policy = self._own(AssessmentPolicy, policy_id)
        try:
            assessment.approve_policy(db.session, current_user, policy)
            db.session.commit()
        except ValueError as exc:
            return self._refused("assessment_policy", "approve", exc, policy_id)
        flash(_("Policy approved."), "success")
        return self._back(policy.year)

    def _own(self, model: type, row_id: int) -> Any:
        """A row of the user's company, or 404."""
        from flask import abort

        row = db.session.get(model, row_id)
        if row is None or row.company_id != company_id_of(current_user):
            abort(404)
        return row

    # -- Art.28, 29: the bases ------------------------------------------------------------------

    @expose("/targets", methods=("POST",))
    def propose_target_view(self):
        self._require("target", Action.CREATE)
        form = request.form
        level = form.get("level", "team")
        try:
            target = assessment.propose_target(
                db.session,
                current_user,
                company_id_of(current_user),
                form.get("period", ""),
                form.get("base_amount") or 0,
                sales_unit_id=int(form["sales_unit_id"]) if level == "unit" else None,
                user_id=int(form["user_id"]) if level == "member" else None,
                note=form.get("note"),
            )
            db.session.commit()
        except (ValueError, KeyError, ArithmeticError) as exc:
            return self._refused("target", "propose", exc)
        flash(_("Base for %(period)s proposed for approval.", period=target.period), "success")
        return self._back(int(target.period[:4]), "#targets")

    @expose("/targets/<int:target_id>/approve", methods=("POST",))
    def approve_target_view(self, target_id: int):
        self._require("target", Action.APPROVE)
        target = self._own(Target, target_id)
        try:
            assessment.approve_target(db.session, current_user, target)
            db.session.commit()
        except ValueError as exc:
            return self._refused("target", "approve", exc, target_id)
        flash(_("Base approved."), "success")
        return self._back(int(target.period[:4]), "#targets")

    # -- Art.30: difficulty grades --------------------------------------------------------------

    @expose("/grades/refresh", methods=("POST",))
    def regrade_view(self):
        """Propose a grade for every debt the team has taken over (overrides are kept)."""
        from backoffice.models.case import CollectionCase

        self._require("debt_grade", Action.RUN)
        year, company_id = self._year(), company_id_of(current_user)
        policy = assessment.policy_for(db.session, company_id, year)
        if policy is None:
            flash(_("Set the policy of %(year)s first.", year=year), "error")
            return self._back(year)
        cases = db.session.scalars(
            select(CollectionCase).where(
                CollectionCase.company_id == company_id, CollectionCase.filed_on.is_not(None)
            )
        ).all()
        for case in cases:
            assessment.grade_case(db.session, case, policy)
        db.session.commit()
        flash(_("%(n)s debts graded.", n=len(cases)), "success")
        return self._back(year, "#grades")

    @expose("/grades/<int:grade_id>", methods=("POST",))
    def override_view(self, grade_id: int):
        self._require("debt_grade", Action.EDIT)
        row = self._own(DebtGrade, grade_id)
        try:
            assessment.override_grade(
                db.session,
                current_user,
                row,
                request.form.get("grade", ""),
                request.form.get("reason"),
            )
            db.session.commit()
        except (ValueError, StaleStateError) as exc:
            return self._refused("debt_grade", "override", exc, grade_id)
        flash(_("Grade saved."), "success")
        return self._back(anchor="#grades")
