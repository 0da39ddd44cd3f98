"""How ``wave1.db.xz`` and ``wave1-storage.tar.xz`` were made (kept for the record, not collected).

Run once with the code of wave 1 (commit ecd8831, Alembic head 1a091b68d998), as a pytest file:

    WAVE1_OUT=/tmp/wave1 .venv/bin/pytest -q -p no:cacheprovider tests/data/wave1/make_wave1_db.py

It builds, through wave 1's own services, a small company's history: a ledger, a case with a
collection action and a stored document, a write-off approved by the whole chain and filed, the
case closed and sealed into the 2026 archive by the year-end transfer, with the audit trail all of
this wrote. Then it copies the SQLite database and the evidence folder to ``$WAVE1_OUT``.
``tests/test_migrations.py`` upgrades that database to the current head and checks that nothing
was lost and that the audit chain and the archive still verify.
"""

import io
import os
import shutil
import sqlite3
from datetime import date
from pathlib import Path

from backoffice.models import CollectionAction, EvidenceDocument
from backoffice.models.case import ActionKind, CaseOutcome
from backoffice.models.evidence import DocumentType
from backoffice.models.writeoff import ApprovalStep, Decision, WriteOffGround
from backoffice.services import archive, cases
from backoffice.services import writeoff as wo
from backoffice.services.reference import ensure_reference_data
from backoffice.services.storage import get_storage


def test_make_wave1_database(chain, db, app):
    """Not a test: writes the wave-1 fixture database (see the module docstring)."""
    ensure_reference_data(db.session)
    case = cases.apply(
        db.session, chain["customer"].id, chain["collector"].id, "失联", date(2026, 3, 2)
    )
    cases.accept(db.session, case, chain["lead"].id, date(2026, 3, 2))
    cases.start_work(db.session, case)
    db.session.add(
        CollectionAction(
            case_id=case.id,
            kind=ActionKind.PHONE,
            on=date(2026, 3, 5),
            user_id=chain["collector"].id,
            result="无人接听",
        )
    )
    stored = get_storage().put(io.BytesIO(b"%PDF-1.4 judgment bytes"))
    db.session.add(
        EvidenceDocument(
            case_id=case.id,
            company_id=case.company_id,
            sales_unit_id=case.sales_unit_id,
            doc_type=DocumentType.JUDGMENT,
            original_name="终结执行裁定书.pdf",
            storage_key=stored.key,
            size=stored.size,
            content_type="application/pdf",
            sha256=stored.sha256,
            uploaded_by_id=chain["lead"].id,
        )
    )
    application = wo.create(
        db.session,
        applicant=chain["collector"],
        customer_id=chain["customer"].id,
        ground=WriteOffGround.UNENFORCEABLE,
        case_id=case.id,
        items=[(chain["r1"].id, "30000")],
        facts="判决无法执行",
    )
    db.session.commit()
    application.materials_missing_reason = "补充中"
    application.materials_due_on = date(2026, 12, 31)
    wo.give_finance_opinion(application, chain["finance"], "同意")
    wo.submit(db.session, application, chain["collector"], date(2026, 6, 2))
    for step, who in (
        (ApprovalStep.TEAM_REVIEW, "lead"),
        (ApprovalStep.DIVISION_VP, "vp"),
        (ApprovalStep.CFO, "cfo"),
        (ApprovalStep.PRESIDENT, "president"),
    ):
        wo.decide(db.session, application, chain[who], step, Decision.APPROVED, "同意")
    wo.file(db.session, application, chain["finance"], date(2026, 6, 20), "记-2026-06-0042")
    wo.file(db.session, application, chain["credit"], date(2026, 6, 20))
    db.session.commit()
    cases.close(
        db.session,
        case,
        chain["lead"].id,
        CaseOutcome.HARD_TO_COLLECT,
        "法院终结执行，债务人无财产可供执行",
        date(2026, 6, 30),
    )
    db.session.commit()
    assert archive.year_end_transfer(db.session, 2026).archived
    db.session.commit()

    out = Path(os.environ["WAVE1_OUT"])
    out.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(db.engine.url.database)
    target = sqlite3.connect(out / "wave1.db")
    source.backup(target)
    target.close()
    source.close()
    shutil.copytree(app.config["STORAGE_DIR"], out / "storage", dirs_exist_ok=True)
