"""The accountability finding's page (Art.18, 20, 24–26; issue 12).

The page shows the loss, the division VP named with joint responsibility (Art.24), the units
and persons named with their responsibility and article point, the facts and the evidence,
the measures (recommended, decided, lifted) and the holds. The team names parties, writes and
completes the analysis and recommends measures; 总裁办 confirms; the leadership decides and
lifts measures. "My findings" lists the findings that name the user (a VP sees theirs).

Every rule lives in ``services/accountability.py`` and ``services/sanctions.py``; these pages
collect input, call them and show their refusals (audited, ``AuditAction.REFUSED``). Every
endpoint checks the permission table and the row scope.
"""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.base import local_today
from backoffice.models.user import User
from backoffice.models.writeoff import (
    AccountabilityFinding,
    AccountabilityHold,
    FindingParty,
    PartyBasis,
    ResponsibilityKind,
    Sanction,
    SanctionStatus,
)
from backoffice.permissions import Action, can, scope_filter
from backoffice.services import accountability, audit, sanctions
from backoffice.services.amounts import read_amount
from backoffice.services.transitions import StaleStateError
from backoffice.views.base import SecuredModelView, deny
from backoffice.views.writeoff_page import application_link

RESOURCE = "accountability_finding"


_today = local_today


def finding_link(view, context, model, name) -> Markup:
    """A cell naming the finding (of a sanction or hold, or the row itself), linked."""
    finding = model if isinstance(model, AccountabilityFinding) else model.finding
    if finding is None:
        return Markup("")
    return Markup('<a href="{}">{}</a>').format(
        url_for("accountability_finding.finding_view", finding_id=finding.id), str(finding)
    )


def finding_state_link(view, context, model, name) -> Markup:
    """The findings list's first cell: where the finding stands (分析中, 待确认, 已确认), linked
    to its page. The application and case have their own columns, so the cell does not name
    them again and the list fits 1366 px (issue 11)."""
    if model.confirmed_at is not None:
        state = _("Confirmed")
    elif model.completed_at is not None:
        state = _("Awaiting confirmation")
    else:
        state = _("Being analysed")
    return Markup('<a href="{}" title="{}">{}</a>').format(
        url_for("accountability_finding.finding_view", finding_id=model.id), str(model), state
    )


def _refused(resource: str, entity_id: int | None, op: str, exc: Exception) -> None:
    db.session.rollback()
    audit.record_now(
        AuditAction.REFUSED, entity=resource, entity_id=entity_id, detail=f"{op}: {exc}"
    )
    flash(str(exc), "error")


class AccountabilityFindingView(SecuredModelView):
    """责任认定: the list links each finding's page; it changes only there."""

    list_template = "admin/accountability_list.html"

    column_list = (
        "id",
        "application",
        "case",
        "customer",
        "sales_unit",
        "loss_amount",
        "vp",
        "kind",
        "completed_at",
        "confirmed_at",
    )
    column_labels = {"id": _l("Finding")}
    column_formatters = {"id": finding_state_link, "application": application_link}
    column_formatters_detail = {"application": application_link}
    column_filters = ("kind", "completed_at", "confirmed_at")

    def _require(self, action: Action, resource: str = RESOURCE) -> None:
        if not can(current_user, resource, action):
            deny(resource, action)

    def _finding(self, finding_id: int) -> AccountabilityFinding:
        return self.get_one(str(finding_id))  # scoped: 404 outside the user's scope

    def _page(self, finding: AccountabilityFinding, status: int = 200):
        user = current_user
        open_ = finding.completed_at is None
        measures = db.session.scalars(
            select(Sanction).where(Sanction.finding_id == finding.id).order_by(Sanction.id)
        ).all()
        holds = db.session.scalars(
            select(AccountabilityHold)
            .where(AccountabilityHold.finding_id == finding.id)
            .order_by(AccountabilityHold.id)
        ).all()
        team = can(user, RESOURCE, Action.EDIT) and accountability.is_team_member(user)
        return (
            self.render(
                "admin/accountability_finding.html",
                finding=finding,
                unrecovered=accountability.unrecovered(db.session, finding),
                measures=measures,
                holds=holds,
                users=db.session.scalars(
                    select(User).where(User.active.is_(True)).order_by(User.display_name)
                ).all(),
                kinds=list(ResponsibilityKind),
                bases=[b for b in PartyBasis if b is not PartyBasis.JOINT_VP],
                measure_kinds=sanctions.ART20_KINDS,
                may_edit=open_ and team,
                may_name=open_ and team and can(user, "finding_party", Action.CREATE),
                may_confirm=(
                    finding.completed_at is not None
                    and finding.confirmed_at is None
                    and can(user, RESOURCE, Action.CONFIRM)
                ),
                may_recommend=team and can(user, "sanction", Action.CREATE),
                may_decide=can(user, "sanction", Action.APPROVE),
                may_lift=can(user, "sanction", Action.LIFT),
                recommended=SanctionStatus.RECOMMENDED,
                decided=SanctionStatus.DECIDED,
                today=_today(),
            ),
            status,
        )

    @expose("/finding/<int:finding_id>/")
    def finding_view(self, finding_id: int):
        """The finding with the forms this user may use. Read only."""
        return self._page(self._finding(finding_id))

    @expose("/mine/")
    def mine_view(self):
        """Art.24: the findings that name the user, as division VP or as a party. Read only."""
        named = [f.id for f in accountability.findings_of(db.session, current_user)]
        rows = db.session.scalars(
            select(AccountabilityFinding)
            .where(AccountabilityFinding.id.in_(named or [0]))
            .where(scope_filter(AccountabilityFinding, current_user))
            .order_by(AccountabilityFinding.id.desc())
        ).all()
        return self.render("admin/accountability_mine.html", findings=rows)

    def _act(
        self,
        finding: AccountabilityFinding,
        change,
        *,
        refused: tuple[str, int | None, str],
        done: str | None,
        anchor: str = "",
        status: int = 400,
    ):
        """Run ``change`` (a service call) and commit, then back to the finding's page with
        ``done`` flashed. A refusal (``AccountabilityError``, or a record changed meanwhile)
        rolls back, is audited as ``refused`` = (resource, entity id, operation), and shows
        the page again with ``status``."""
        finding_id = finding.id
        try:
            change()
            db.session.commit()
        except (accountability.AccountabilityError, StaleStateError) as exc:
            _refused(*refused, exc)
            return self._page(db.session.get(AccountabilityFinding, finding_id), status=status)
        if done:
            flash(done, "success")
        return redirect(url_for(".finding_view", finding_id=finding_id) + anchor, code=303)

    @expose("/finding/<int:finding_id>/analysis", methods=("POST",))
    def analysis_view(self, finding_id: int):
        """The team saves (or completes) the analysis: responsibility, people, facts, evidence."""
        self._require(Action.EDIT)
        finding = self._finding(finding_id)
        form = request.form

        def change():
            if not accountability.is_team_member(current_user):
                raise accountability.AccountabilityError(_("Only the collection team may do this."))
            accountability.record_finding(
                db.session,
                finding,
                kind=form.get("kind"),
                people=form.get("people"),
                text=form.get("finding"),
                evidence=form.get("evidence", ""),
                completed=form.get("completed") == "1",
                user=current_user,
            )

        return self._act(
            finding,
            change,
            refused=(RESOURCE, finding_id, "analysis"),
            done=_("Accountability finding saved."),
        )

    @expose("/finding/<int:finding_id>/party", methods=("POST",))
    def party_view(self, finding_id: int):
        """The team names a user, or any unit or person by name, with the article point."""
        self._require(Action.CREATE, "finding_party")
        finding = self._finding(finding_id)
        form = request.form
        return self._act(
            finding,
            lambda: accountability.name_party(
                db.session,
                finding,
                user_id=form.get("user_id", type=int),
                name=form.get("name"),
                responsibility=form.get("responsibility"),
                basis=form.get("basis"),
                note=form.get("note"),
            ),
            refused=("finding_party", finding_id, "name"),
            done=_("Named on the finding."),
            anchor="#parties",
        )

    @expose("/finding/<int:finding_id>/party/<int:party_id>/remove", methods=("POST",))
    def remove_party_view(self, finding_id: int, party_id: int):
        """The team takes a party off an open finding (the Art.24 VP stays)."""
        self._require(Action.DELETE, "finding_party")
        finding = self._finding(finding_id)
        party = db.session.get(FindingParty, party_id)
        if party is None or party.finding_id != finding.id:
            abort(404)
        return self._act(
            finding,
            lambda: accountability.remove_party(db.session, finding, party),
            refused=("finding_party", party_id, "remove"),
            done=None,
            anchor="#parties",
        )

    @expose("/finding/<int:finding_id>/confirm", methods=("POST",))
    def confirm_view(self, finding_id: int):
        """总裁办 confirms the completed finding (Art.18); the holds of Art.26 follow."""
        self._require(Action.CONFIRM)
        finding = self._finding(finding_id)
        return self._act(
            finding,
            lambda: accountability.confirm(
                db.session, finding, current_user, request.form.get("comment")
            ),
            refused=(RESOURCE, finding_id, "confirm"),
            done=_("Finding confirmed."),
            status=409,
        )

    @expose("/finding/<int:finding_id>/measure", methods=("POST",))
    def measure_view(self, finding_id: int):
        """A team member recommends an Art.20 measure against a person."""
        self._require(Action.CREATE, "sanction")
        finding = self._finding(finding_id)
        form = request.form

        def change():
            due_raw = (form.get("due_on") or "").strip()
            try:
                due_on = date.fromisoformat(due_raw) if due_raw else None
                amount = read_amount(form.get("amount")) if form.get("amount") else None
            except ValueError as exc:
                raise accountability.AccountabilityError(
                    _("Enter the date as YYYY-MM-DD and a valid amount.")
                ) from exc
            sanctions.recommend(
                db.session,
                finding,
                current_user,
                user_id=form.get("user_id", type=int),
                kind=form.get("kind"),
                note=form.get("note"),
                due_on=due_on,
                amount=amount,
                today=_today(),
            )

        return self._act(
            finding,
            change,
            refused=("sanction", None, "recommend"),
            done=_("Measure recommended to the leadership."),
            anchor="#measures",
        )

    def _sanction(
        self, action: Action, finding_id: int, sanction_id: int
    ) -> tuple[AccountabilityFinding, Sanction]:
        """The finding and its measure, if the user may ``action`` measures (403 if not, 404
        for a measure of another finding or outside the user's scope)."""
        self._require(action, "sanction")
        finding = self._finding(finding_id)
        sanction = db.session.get(Sanction, sanction_id)
        if sanction is None or sanction.finding_id != finding.id:
            abort(404)
        return finding, sanction

    @expose("/finding/<int:finding_id>/measure/<int:sanction_id>/decide", methods=("POST",))
    def decide_view(self, finding_id: int, sanction_id: int):
        """The leadership approves or rejects a recommended measure (decision date: today)."""
        finding, sanction = self._sanction(Action.APPROVE, finding_id, sanction_id)
        return self._act(
            finding,
            lambda: sanctions.decide(
                db.session,
                sanction,
                current_user,
                approve=request.form.get("decision") == "approve",
                comment=request.form.get("comment"),
                on=_today(),
            ),
            refused=("sanction", sanction_id, "decide"),
            done=_("Decision recorded."),
            anchor="#measures",
            status=409,
        )

    @expose("/finding/<int:finding_id>/measure/<int:sanction_id>/lift", methods=("POST",))
    def lift_view(self, finding_id: int, sanction_id: int):
        """The leadership lifts a measure in force, with a reason."""
        finding, sanction = self._sanction(Action.LIFT, finding_id, sanction_id)
        return self._act(
            finding,
            lambda: sanctions.lift(db.session, sanction, current_user, request.form.get("reason")),
            refused=("sanction", sanction_id, "lift"),
            done=_("Measure lifted."),
            anchor="#measures",
            status=409,
        )


class FindingPartyView(SecuredModelView):
    column_list = ("finding", "user", "name", "responsibility", "basis", "note")
    column_formatters = {"finding": finding_link}
    column_filters = ("responsibility", "basis")


class SanctionView(SecuredModelView):
    """Art.20: measures are recommended, decided and lifted on their finding's page."""

    column_list = ("user", "kind", "status", "finding", "due_on", "decided_on", "note")
    column_formatters = {"finding": finding_link}
    column_filters = ("kind", "status", "due_on")
