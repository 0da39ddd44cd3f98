"""The assessment's lists (Art.27–30). Read-only: every change goes through the assessment
pages (``views/assessment.py``); the generic doors are shut by ``backoffice.governance``."""

from __future__ import annotations

from flask import url_for
from markupsafe import Markup

from backoffice.views.base import SecuredModelView


def scorecard_link(view, context, model, name) -> Markup:
    return Markup('<a href="{}">{}</a>').format(
        url_for("assessment.scorecard_view", card_id=model.id), model.period
    )


class AssessmentPolicyView(SecuredModelView):
    column_list = (
        "year",
        "status",
        "weight_standard",
        "weight_hard",
        "weight_very_hard",
        "reward_rate",
        "penalty_floor",
        "penalty_rate",
        "approved_by",
        "approved_at",
    )


class DebtGradeView(SecuredModelView):
    column_list = ("case", "age_months", "litigated", "proposed", "grade", "override_reason")
    column_filters = ("grade", "proposed")


class ScorecardView(SecuredModelView):
    column_list = ("period", "status", "computed_at", "approved_by", "approved_at", "comment")
    column_formatters = {"period": scorecard_link}
    column_formatters_detail = {"period": scorecard_link}
