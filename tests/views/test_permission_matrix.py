"""The permission matrix: every role × every registered view × every action.

The expected outcome of each request is read from ``backoffice.permissions.PERMISSIONS``, the
same table the code enforces. Allowed → success (200, or 302 with the change made); denied →
403 for a logged-in user (and the database unchanged, the denial audited); anonymous → 302 to
the login page. One test per view; the users and their logged-in clients live for the module
because argon2 makes each real login cost a quarter of a second.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import lxml.html
import pytest
from sqlalchemy import inspect, select, text

from backoffice import models as m
from backoffice.extensions import db as _db
from backoffice.governance import WORKFLOWS, generic_can
from backoffice.models import RoleName
from backoffice.permissions import PERMISSIONS, Action, can, resource_of
from backoffice.views import REGISTRY
from tests import helpers
from tests.conftest import _truncate

ROLES = [r.value for r in RoleName]
ANON = "anonymous"
ENDPOINTS = [e.endpoint for e in REGISTRY]
MODELS = {e.endpoint: e.model for e in REGISTRY}
_n = itertools.count(1)

# ---------------------------------------------------------------------------------------------
# The fixture world: one company, one unit, a customer, a case, an application...


class World:
    """Base rows every builder hangs its row on; users for every role (collector in the unit)."""

    def __init__(self):
        self.company = helpers.make_company()
        self.unit = helpers.make_unit(self.company)
        self.customer = helpers.make_customer(self.unit)
        self.case = helpers.make_case(helpers.make_customer(self.unit))
        self.users = {
            r: helpers.make_user(r, units=[self.unit] if r == "collector" else [], username=r)
            for r in ROLES
        }
        self.application = self._application()
        self.plan = add(
            m.RepaymentPlan(case_id=self.case.id, agreed_on=date(2026, 3, 1), total=Decimal("90"))
        )
        self.entry = add(
            m.RecourseEntry(
                **self.scope,
                application_id=self._application().id,
                customer_id=self.customer.id,
                written_off=Decimal("10"),
                opened_on=date(2026, 3, 1),
            )
        )
        self.archive = self._archive()
        self.finding = add(m.AccountabilityFinding(**self.scope, case_id=self.case.id))

    @property
    def scope(self) -> dict:
        return {"company_id": self.company.id, "sales_unit_id": self.unit.id}

    def _application(self):
        n = next(_n)
        return add(
            m.WriteOffApplication(
                **self.scope,
                app_no=f"HX{n:05d}",
                customer_id=self.customer.id,
                applicant_id=self.users["collector"].id,
                ground=m.writeoff.WriteOffGround.HOPELESS,
                amount=Decimal("10.00"),
                facts="无法收回",
            )
        )

    def _archive(self):
        n = next(_n)
        case = helpers.make_case(helpers.make_customer(self.unit))
        return add(
            m.ArchiveRecord(
                **self.scope,
                archive_no=f"DA{n:05d}",
                case_id=case.id,
                customer_id=case.customer_id,
                year=2026,
                amount=Decimal("5.00"),
            )
        )


def add(obj):
    _db.session.add(obj)
    _db.session.commit()
    return obj


def _period(n: int) -> str:
    return f"{1000 + n:04d}-01"


def _builders():
    """endpoint → builder(world, owner) returning a fresh committed row of that view's model."""
    d = date(2026, 1, 15)
    money = Decimal("10.00")

    def case_child(model, **kw):
        return lambda w, o: add(model(case_id=w.case.id, **kw))

    return {
        "receivable": lambda w, o: helpers.make_receivable(w.customer),
        "payment": lambda w, o: helpers.make_payment(w.customer),
        "payment_allocation": lambda w, o: add(
            m.PaymentAllocation(
                payment_id=helpers.make_payment(w.customer).id,
                receivable_id=helpers.make_receivable(w.customer).id,
                amount=money,
            )
        ),
        "customer": lambda w, o: helpers.make_customer(w.unit),
        "credit_event": lambda w, o: add(
            m.CreditEvent(
                **w.scope,
                customer_id=w.customer.id,
                kind=m.customer.CreditEventKind.RATING,
                reason="评级调整",
            )
        ),
        "contract": lambda w, o: add(
            m.Contract(**w.scope, customer_id=w.customer.id, number=f"HT{next(_n):05d}")
        ),
        "import_batch": lambda w, o: add(
            m.ImportBatch(
                kind=m.receivable.ImportKind.RECEIVABLES, filename="应收.xlsx", sha256="0" * 64
            )
        ),
        "column_mapping": lambda w, o: add(
            m.ColumnMapping(
                kind=m.receivable.ImportKind.RECEIVABLES, header=f"单据{next(_n)}", field="doc_no"
            )
        ),
        "monthly_run": lambda w, o: add(
            m.MonthlyRun(period=_period(next(_n)), as_of=d, dispatch_date=d, form_date=d)
        ),
        "monthly_report": lambda w, o: add(
            m.MonthlyReport(**w.scope, period=_period(next(_n)), as_of=d)
        ),
        "confirmation_form": lambda w, o: add(
            m.ConfirmationForm(**w.scope, period=_period(next(_n)), issued_on=d, answer_due=d)
        ),
        "confirmation_line": lambda w, o: add(
            m.ConfirmationLine(
                **w.scope,
                form_id=add(
                    m.ConfirmationForm(
                        **w.scope, period=_period(next(_n)), issued_on=d, answer_due=d
                    )
                ).id,
                receivable_id=helpers.make_receivable(w.customer).id,
                customer_id=w.customer.id,
                outstanding_at_close=money,
                overdue_days=40,
            )
        ),
        "statement": lambda w, o: add(
            m.Statement(**w.scope, period=_period(next(_n)), customer_id=w.customer.id, as_of=d)
        ),
        "report_dispatch": lambda w, o: add(
            m.ReportDispatch(
                **w.scope,
                report_id=add(m.MonthlyReport(**w.scope, period=_period(next(_n)), as_of=d)).id,
                period="2026-01",
                channel=m.monthly.DispatchChannel.EMAIL,
                recipient=f"ar{next(_n)}@example.com",
                subject="逾期账款报表",
                attachments="逾期账款报表.pdf",
            )
        ),
        "customer_mail": lambda w, o: add(
            m.CustomerMail(
                **w.scope,
                kind=m.MailKind.STATEMENT,
                period=_period(next(_n)),
                customer_id=w.customer.id,
                contact_id=add(
                    m.CustomerContact(
                        customer_id=w.customer.id, name="王会计", email=f"c{next(_n)}@example.com"
                    )
                ).id,
                recipient="c@example.com",
                subject="对账单",
                body="…",
            )
        ),
        "confirmation_line_part": lambda w, o: add(
            m.ConfirmationLinePart(
                **w.scope,
                line_id=BUILDERS["confirmation_line"](w, o).id,
                reason_class=m.monthly.ReasonClass.INTERNAL,
                sub_reason_id=BUILDERS["overdue_reason"](w, o).id,
                amount=money,
                route=m.monthly.Route.FINANCE,
            )
        ),
        "overdue_reason": lambda w, o: add(
            m.OverdueReason(
                reason_class=m.monthly.ReasonClass.INTERNAL,
                label=f"原因{next(_n)}",
                route_hint=m.monthly.RouteHint.BOOKKEEPING,
            )
        ),
        "task": lambda w, o: add(
            m.Task(
                **w.scope,
                kind=m.notification.TaskKind.FOLLOW_UP,
                title="跟进",
                subject_type="receivable",
                subject_id=next(_n),
            )
        ),
        # The inbox is owner-scoped: each user's row is their own.
        "notification": lambda w, o: add(m.Notification(user_id=o.id, title="提醒")),
        "collection_case": lambda w, o: helpers.make_case(helpers.make_customer(w.unit)),
        "watch_list_entry": lambda w, o: add(
            m.WatchListEntry(
                **w.scope,
                customer_id=w.customer.id,
                as_of=d + timedelta(days=next(_n)),
                overdue_amount=money,
                oldest_due_date=d,
            )
        ),
        "case_member": lambda w, o: add(
            m.CaseMember(case_id=w.case.id, user_id=helpers.make_user().id, duty="成员")
        ),
        "collection_action": case_child(m.CollectionAction, kind=m.case.ActionKind.PHONE, on=d),
        "payment_promise": case_child(m.PaymentPromise, promised_on=d, amount=money, due_on=d),
        "repayment_plan": case_child(m.RepaymentPlan, agreed_on=d, total=money),
        "instalment": lambda w, o: add(
            m.Instalment(plan_id=w.plan.id, seq=next(_n), due_on=d, amount=money)
        ),
        "collateral": case_child(
            m.Collateral, kind=m.case.CollateralKind.GUARANTEE, description="担保"
        ),
        "payment_in_kind": case_child(m.PaymentInKind, asset="设备"),
        "litigation": case_child(m.Litigation, court="人民法院"),
        "information_request": lambda w, o: add(
            m.InformationRequest(
                **w.scope,
                case_id=w.case.id,
                addressee_unit_id=w.unit.id,
                subject="调查",
                question="请提供对账单",
                issued_by_id=w.users["team_lead"].id,
                issued_on=d,
                due_on=d,
            )
        ),
        "customer_collection_plan": lambda w, o: add(
            m.CustomerCollectionPlan(
                **w.scope,
                customer_id=w.customer.id,
                reasons="资金紧张",
                target_amount=money,
                target_date=d,
                measures="上门催收",
                set_by_id=w.users["team_lead"].id,
                set_on=d,
            )
        ),
        "case_submission": lambda w, o: add(
            m.CaseSubmission(
                **w.scope,
                case_id=w.case.id,
                reason_class=m.monthly.ReasonClass.EXTERNAL,
                sub_reason_id=BUILDERS["overdue_reason"](w, o).id,
                reason_detail="客户资金紧张，多次承诺未兑现",
            )
        ),
        "refusal_consequence": lambda w, o: add(
            m.RefusalConsequence(
                **w.scope,
                case_id=helpers.make_case(helpers.make_customer(w.unit)).id,
                customer_id=w.customer.id,
                outstanding=money,
                refusal_reason="未满足受理条件",
                consequence="后果由本销售单位及经办人承担",
            )
        ),
        "case_cost": lambda w, o: add(
            m.CaseCost(
                **w.scope,
                case_id=w.case.id,
                kind=m.case.CostKind.TRAVEL,
                amount=money,
                incurred_on=d,
            )
        ),
        "document_requirement": lambda w, o: add(
            m.DocumentRequirement(case_id=w.case.id, doc_type=f"t{next(_n)}", due_on=d)
        ),
        "evidence_document": lambda w, o: helpers.make_evidence(w.case),
        "writeoff_application": lambda w, o: w._application(),
        "writeoff_item": lambda w, o: add(
            m.WriteOffItem(
                application_id=w.application.id,
                receivable_id=helpers.make_receivable(w.customer).id,
                amount=money,
            )
        ),
        "approval_decision": lambda w, o: add(
            m.ApprovalDecision(
                application_id=w.application.id,
                round=next(_n),
                step=m.writeoff.ApprovalStep.TEAM_REVIEW,
                decision=m.writeoff.Decision.APPROVED,
                comment="同意",
                user_id=w.users["team_lead"].id,
            )
        ),
        "material_requirement": lambda w, o: add(
            m.MaterialRequirement(
                ground=m.writeoff.WriteOffGround.HOPELESS, doc_type=f"t{next(_n)}"
            )
        ),
        "recourse_entry": lambda w, o: add(
            m.RecourseEntry(
                **w.scope,
                application_id=w._application().id,
                customer_id=w.customer.id,
                written_off=money,
                opened_on=d,
            )
        ),
        "recovery": lambda w, o: add(m.Recovery(entry_id=w.entry.id, amount=money, received_on=d)),
        "accountability_finding": lambda w, o: add(
            m.AccountabilityFinding(
                **w.scope, case_id=w.case.id, kind=m.writeoff.ResponsibilityKind.UNIT
            )
        ),
        "sanction": lambda w, o: add(
            m.Sanction(
                user_id=w.users["collector"].id,
                kind=m.writeoff.SanctionKind.NOTICE,
                decided_on=d,
            )
        ),
        "finding_party": lambda w, o: add(
            m.FindingParty(
                finding_id=w.finding.id,
                name=f"合同签订部门{next(_n)}",
                responsibility=m.writeoff.ResponsibilityKind.UNIT,
                basis=m.writeoff.PartyBasis.CONTRACTING,
            )
        ),
        "accountability_hold": lambda w, o: add(
            m.AccountabilityHold(
                finding_id=w.finding.id,
                user_id=helpers.make_user().id,
                kind=m.writeoff.HoldKind.NO_PROMOTION,
            )
        ),
        "hand_over": lambda w, o: add(
            m.HandOver(
                leaver_id=helpers.make_user().id,
                successor_id=w.users["collector"].id,
                by_id=w.users["admin"].id,
                receivables=1,
            )
        ),
        "archive_record": lambda w, o: w._archive(),
        "archive_item": lambda w, o: add(
            m.ArchiveItem(
                archive_id=w.archive.id,
                seq=next(_n),
                kind="document",
                ref="1",
                name="合同.pdf",
                sha256="0" * 64,
            )
        ),
        # Nobody may create, edit or delete audit entries or roles: target existing rows.
        "audit_log": lambda w, o: _db.session.scalar(
            select(m.AuditLog).order_by(m.AuditLog.seq.desc()).limit(1)
        ),
        "company": lambda w, o: helpers.make_company(),
        "sales_unit": lambda w, o: _unit_for(w, o),
        "user": lambda w, o: helpers.make_user(),
        "role": lambda w, o: helpers.role("auditor"),
        "target": lambda w, o: add(
            m.Target(**w.scope, period=str(1000 + next(_n)), base_amount=money)
        ),
        "assessment_policy": lambda w, o: _policy(w),
        "debt_grade": lambda w, o: add(
            m.DebtGrade(
                **w.scope,
                case_id=helpers.make_case(helpers.make_customer(w.unit)).id,
                age_months=7,
                financial_status="good_funds",
                proposed=m.assessment.DifficultyGrade.STANDARD,
                grade=m.assessment.DifficultyGrade.STANDARD,
            )
        ),
        "scorecard": lambda w, o: add(
            m.Scorecard(
                company_id=w.company.id,
                period=str(1000 + next(_n)),
                policy_id=_policy(w).id,
                status=m.assessment.ScorecardStatus.PROPOSED,
                computed_at=datetime(2026, 1, 31, tzinfo=UTC),
            )
        ),
        "calendar_year": lambda w, o: add(m.CalendarYear(year=1000 + next(_n), source="admin")),
        "calendar_day": lambda w, o: add(
            m.CalendarDay(day=date(2000, 1, 1) + timedelta(days=next(_n)), is_workday=True)
        ),
        "setting": lambda w, o: add(m.Setting(key=f"k{next(_n)}", value={"v": 1})),
        "job_run": lambda w, o: add(m.JobRun(rq_job_id=f"job-{next(_n)}", name="demo")),
        # Issue 15: the debtor's balance confirmation
        "balance_confirmation_request": lambda w, o: _balance_request(w),
        "balance_dispute": lambda w, o: add(
            m.BalanceDispute(
                **w.scope,
                request_id=_balance_request(w).id,
                customer_id=w.customer.id,
                our_balance=money,
                debtor_balance=Decimal("0"),
                difference=money,
                disputed_amount=money,
                reason=m.balance_confirmation.DisputeReason.PRICE,
                deadline=d,
            )
        ),
        "balance_confirmation_access": lambda w, o: add(
            m.BalanceConfirmationAccess(
                request_id=(req := _balance_request(w)).id,
                link_id=add(
                    m.BalanceConfirmationLink(
                        request_id=req.id,
                        token_hash=f"{next(_n):064d}",
                        expires_at=datetime(2026, 2, 1, tzinfo=UTC),
                    )
                ).id,
                kind=m.balance_confirmation.AccessKind.VIEW,
                ip="127.0.0.1",
            )
        ),
    }


def _balance_request(w):
    return add(
        m.BalanceConfirmationRequest(
            **w.scope,
            number=f"XZ2026-{next(_n):05d}",
            kind=m.balance_confirmation.BalanceConfirmationKind.AUDIT_LETTER,
            letter_form=m.balance_confirmation.LetterForm.POSITIVE,
            customer_id=w.customer.id,
            as_of=date(2026, 1, 15),
            year=2026,
            balance=Decimal("10.00"),
            reply_due=date(2026, 1, 30),
        )
    )


def _policy(w):
    """A fresh assessment policy of the world's company (one per year)."""
    from backoffice.services.assessment import POLICY_DEFAULTS

    return add(
        m.AssessmentPolicy(
            company_id=w.company.id,
            year=2000 + next(_n),
            status=m.assessment.ApprovalState.PROPOSED,
            **POLICY_DEFAULTS,
        )
    )


def _unit_for(w, owner):
    """A fresh unit; a collector is made a member, or scope would hide it (tested elsewhere)."""
    unit = helpers.make_unit(w.company)
    if owner.role_names == {RoleName.COLLECTOR}:
        owner.sales_units.append(unit)
        _db.session.commit()
    return unit


BUILDERS = _builders()

# Form values that must differ from the fixture row for a create to be valid (unique keys) —
# and, for edits, one field that visibly changes.
CREATE_OVERRIDES = {
    "company": lambda w: {"code": f"NC{next(_n)}"},
    "sales_unit": lambda w: {"code": f"NU{next(_n)}", "name": f"新事业部{next(_n)}"},
    "user": lambda w: {"username": f"new{next(_n)}", "employee_code": f"E{next(_n)}"},
    "customer": lambda w: {"erp_code": f"NK{next(_n)}"},
    "contract": lambda w: {"number": f"NHT{next(_n)}"},
    "receivable": lambda w: {"doc_no": f"NINV{next(_n)}"},
    "payment": lambda w: {"payment_no": f"NPAY{next(_n)}"},
    "column_mapping": lambda w: {"header": f"新列{next(_n)}"},
    "setting": lambda w: {"key": f"nk{next(_n)}"},
    "target": lambda w: {"period": str(3000 + next(_n))},
    "calendar_year": lambda w: {"year": str(3000 + next(_n))},
    "calendar_day": lambda w: {"day": (date(2090, 1, 1) + timedelta(days=next(_n))).isoformat()},
    "overdue_reason": lambda w: {"label": f"新原因{next(_n)}"},
    "collection_case": lambda w: {"customer": str(helpers.make_customer(w.unit).id)},
    "case_member": lambda w: {"user": str(helpers.make_user().id)},
    "document_requirement": lambda w: {"doc_type": f"n{next(_n)}"},
    "material_requirement": lambda w: {"doc_type": f"n{next(_n)}"},
    "instalment": lambda w: {"seq": str(5000 + next(_n))},
    "evidence_document": lambda w: {"storage_key": f"new/{next(_n)}"},
}


# ---------------------------------------------------------------------------------------------
# Module-scoped world and clients


@pytest.fixture(scope="module")
def world(app):
    with app.app_context():
        w = World()
        clients = {}
        for name in [*ROLES, ANON]:
            client = helpers.fresh_client(app)
            if name != ANON:
                helpers.login(client, name)
            clients[name] = (
                client,
                helpers.csrf_token(client, "/login" if name == ANON else "/account"),
            )
        w.clients = clients
        try:
            yield w
        finally:
            _db.session.remove()
            _truncate()


def _tables() -> list[str]:
    return [t.name for t in m.Base.metadata.sorted_tables if t.name not in ("audit_log",)]


def db_state(model) -> tuple:
    """Row counts of every table (audit excluded: denials are audited) and the model's rows."""
    tables = _tables()
    counts = " UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM \"{t}\"" for t in tables)
    pk = inspect(model).primary_key[0].name
    with _db.engine.connect() as conn:
        c = tuple(conn.execute(text(counts)).all())
        where = " WHERE action <> 'denied'" if model is m.AuditLog else ""
        rows = tuple(
            tuple(r)
            for r in conn.execute(
                text(f'SELECT * FROM "{model.__tablename__}"{where} ORDER BY "{pk}"')
            ).all()
        )
    return c, rows


def pk_of(obj) -> str:
    value = inspect(obj).identity[0]
    return value.isoformat() if isinstance(value, date) else str(value)


def exists(model, pk: str) -> bool:
    """Whether the row is still there (evidence is soft-deleted: deleted_at is set)."""
    _db.session.expire_all()
    col = inspect(model).primary_key[0]
    kind = col.type.python_type
    row = _db.session.get(model, date.fromisoformat(pk) if kind is date else kind(pk))
    return row is not None and getattr(row, "deleted_at", None) is None


def form_values(html: str) -> dict[str, str]:
    """The values a browser would submit from the page's model form."""
    doc = lxml.html.fromstring(html)
    forms = [f for f in doc.forms if f.get("class", "").find("admin-form") >= 0] or doc.forms
    values = {}
    for name, value in forms[0].form_values():
        values.setdefault(name, value)
    values.pop("csrf_token", None)
    return values


def last_audit_action() -> str | None:
    with _db.engine.connect() as conn:
        return conn.execute(
            select(m.AuditLog.action).order_by(m.AuditLog.seq.desc()).limit(1)
        ).scalar()


# ---------------------------------------------------------------------------------------------
# The matrix

ACTIONS = [
    "list",
    "details",
    "create_get",
    "edit_get",
    "export_csv",
    "ajax_update",
    "edit_post",
    "create_post",
    "delete",
    "bulk_delete",
]
NEEDS = {
    "list": Action.VIEW,
    "details": Action.VIEW,
    "create_get": Action.CREATE,
    "create_post": Action.CREATE,
    "edit_get": Action.EDIT,
    "edit_post": Action.EDIT,
    "ajax_update": Action.EDIT,
    "export_csv": Action.EXPORT,
    "delete": Action.DELETE,
    "bulk_delete": Action.DELETE,
}


class FakeUser:
    """Stands for a user holding exactly one role, for asking ``can`` what to expect."""

    is_authenticated = True

    def __init__(self, role):
        self.role_names = frozenset({RoleName(role)})


def expected_allowed(endpoint: str, role: str, action: str) -> bool:
    """The table, narrowed for the generic doors by the resource's workflow (governance)."""
    if role == ANON:
        return False
    user, res = FakeUser(role), resource_of(MODELS[endpoint])
    return can(user, res, Action.VIEW) and generic_can(user, res, NEEDS[action])


def payloads(w, endpoint: str, row) -> tuple[dict, dict]:
    """(create data, edit data) for the view, taken from the form a permitted user sees."""
    admin, _ = w.clients["admin"]
    base = f"/admin/{endpoint}/"
    pk = pk_of(row)
    if endpoint == "evidence_document":
        # No model form: evidence is created by upload only (the form redirects there).
        values = {"original_name": "typed-in.pdf", "storage_key": "ab/cd/" + "0" * 32}
    elif generic_can(FakeUser("admin"), resource_of(MODELS[endpoint]), Action.EDIT):
        values = form_values(admin.get(f"{base}edit/?id={pk}").get_data(as_text=True))
    elif endpoint not in CREATE_FLOWS and any(
        generic_can(FakeUser(r), resource_of(MODELS[endpoint]), Action.CREATE) for r in ROLES
    ):
        creator = next(
            r
            for r in ROLES
            if generic_can(FakeUser(r), resource_of(MODELS[endpoint]), Action.CREATE)
        )
        client, _ = w.clients[creator]
        values = form_values(client.get(f"{base}new/").get_data(as_text=True))
        for col in inspect(MODELS[endpoint]).column_attrs:
            value = getattr(row, col.key)
            if col.key in values and not values[col.key] and value is not None:
                values[col.key] = value.isoformat() if isinstance(value, date) else str(value)
        for rel in inspect(MODELS[endpoint]).relationships:
            fk = next(iter(rel.local_columns)).key
            if values.get(rel.key) in ("", "__None") and getattr(row, fk, None) is not None:
                values[rel.key] = str(getattr(row, fk))
    else:
        # Nobody may write here: any plausible payload will do, the request must never land.
        values = {
            c.key: str(getattr(row, c.key))
            for c in inspect(MODELS[endpoint]).column_attrs
            if getattr(row, c.key) is not None and c.key != "id"
        }
    create = dict(values)
    create.update(CREATE_OVERRIDES.get(endpoint, lambda w: {})(w))
    edit = dict(values)
    return create, edit


def count(model) -> int:
    with _db.engine.connect() as conn:
        return conn.execute(select(_db.func.count()).select_from(model)).scalar()


def run_action(w, endpoint, role, action, target_pk, create_data, edit_data):
    """Send one request; returns the response. Destructive allowed actions get a fresh row."""
    client, token = w.clients[role]
    base = f"/admin/{endpoint}/"
    if action == "list":
        return client.get(base)
    if action == "details":
        return client.get(f"{base}details/?id={target_pk}")
    if action == "create_get":
        return client.get(f"{base}new/")
    if action == "edit_get":
        return client.get(f"{base}edit/?id={target_pk}")
    if action == "export_csv":
        return client.get(f"{base}export/csv/")
    if action == "ajax_update":
        field = next(iter(edit_data), "id")
        return client.post(
            f"{base}ajax/update/",
            data={"list_form_pk": target_pk, field: edit_data.get(field, "x"), "csrf_token": token},
        )
    if action == "edit_post":
        return client.post(f"{base}edit/?id={target_pk}", data={**edit_data, "csrf_token": token})
    if action == "create_post":
        return client.post(f"{base}new/", data={**create_data, "csrf_token": token})
    if action == "delete":
        return client.post(f"{base}delete/", data={"id": target_pk, "csrf_token": token})
    if action == "bulk_delete":
        return client.post(
            f"{base}action/", data={"action": "delete", "rowid": target_pk, "csrf_token": token}
        )
    raise AssertionError(action)


#: Views whose generic create form redirects to the flow that makes such rows.
CREATE_FLOWS = {res for res, rule in WORKFLOWS.items() if rule.create_flow}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_permission_matrix(world, endpoint):
    """Each role gets exactly what PERMISSIONS grants on this view; denials change nothing."""
    w = world
    model = MODELS[endpoint]
    problems: list[str] = []
    tally = Counter()
    for role in [*ROLES, ANON]:
        owner = w.users.get(role, w.users["admin"])
        row = BUILDERS[endpoint](w, owner)
        pk = pk_of(row)
        create_data, edit_data = payloads(w, endpoint, row)
        for action in ACTIONS:
            allowed = expected_allowed(endpoint, role, action)
            target = pk
            if allowed and action in ("delete", "bulk_delete"):
                target = pk_of(BUILDERS[endpoint](w, owner))
            if allowed and action == "create_post":
                create_data.update(CREATE_OVERRIDES.get(endpoint, lambda w: {})(w))
            before = db_state(model)
            n_before = count(model)
            response = run_action(w, endpoint, role, action, target, create_data, edit_data)
            status = response.status_code
            where = f"{role} {action} {endpoint}: {status}"
            if role == ANON:
                tally["denied"] += 1
                if status != 302 or "/login" not in response.headers.get("Location", ""):
                    problems.append(f"anonymous not sent to login: {where}")
                if db_state(model) != before:
                    problems.append(f"database changed on denial: {where}")
                continue
            if not allowed:
                tally["denied"] += 1
                if status != 403:
                    problems.append(f"unexpected allow: {where}")
                if db_state(model) != before:
                    problems.append(f"database changed on denial: {where}")
                elif last_audit_action() != "denied":
                    problems.append(f"denial not audited: {where}")
                continue
            tally["allowed"] += 1
            if status == 403:
                problems.append(f"unexpected denial: {where}")
            elif action == "ajax_update":
                # No view has editable list columns: a permitted user gets "not found".
                if status != 404:
                    problems.append(f"ajax update answered {status}: {where}")
            elif action == "create_get" and endpoint in CREATE_FLOWS:
                if status != 302:
                    problems.append(f"evidence form did not redirect to the upload: {where}")
            elif action in ("list", "details", "create_get", "edit_get", "export_csv"):
                if status != 200:
                    problems.append(f"not shown: {where}")
            elif action == "create_post" and endpoint in CREATE_FLOWS:
                # Rows made only through their own flow (an upload, an application form): the
                # generic form sends the user there and never creates a typed-in row.
                if status != 302 or count(model) != n_before:
                    problems.append(f"evidence form did not redirect to the upload: {where}")
            elif action == "create_post":
                if status != 302 or count(model) != n_before + 1:
                    problems.append(f"create did not succeed: {where}")
            elif action == "edit_post":
                if status != 302:
                    problems.append(f"edit did not succeed: {where}")
            elif status != 302 or exists(model, target):  # delete, bulk_delete
                problems.append(f"delete did not succeed: {where}")
    assert not problems, "\n".join(problems)
    assert tally["denied"] + tally["allowed"] == (len(ROLES) + 1) * len(ACTIONS)


def test_every_view_has_a_builder_and_a_rule():
    """The matrix covers every registered view, and each view's resource is in the table."""
    assert set(ENDPOINTS) == set(BUILDERS)
    for entry in REGISTRY:
        assert resource_of(entry.model) in PERMISSIONS, entry.endpoint


def test_auditor_changes_nothing_anywhere(world):
    """The auditor tries every write endpoint of every view: every one is 403, nothing changes."""
    w = world
    client, token = w.clients["auditor"]
    rows = {ep: pk_of(BUILDERS[ep](w, w.users["auditor"])) for ep in ENDPOINTS}
    before = {ep: db_state(MODELS[ep]) for ep in ENDPOINTS}
    refused = []
    for ep, pk in rows.items():
        base = f"/admin/{ep}/"
        for url, data in (
            (f"{base}new/", {"name": "x"}),
            (f"{base}edit/?id={pk}", {"name": "x"}),
            (f"{base}delete/", {"id": pk}),
            (f"{base}action/", {"action": "delete", "rowid": pk}),
            (f"{base}ajax/update/", {"list_form_pk": pk, "name": "x"}),
        ):
            refused.append(client.post(url, data={**data, "csrf_token": token}).status_code)
    assert set(refused) == {403}
    assert {ep: db_state(MODELS[ep]) for ep in ENDPOINTS} == before
