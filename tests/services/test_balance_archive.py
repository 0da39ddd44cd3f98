"""The debtors' replies in the year's archive package (issue 15): each reply once, its files
by SHA-256, signed; `flask archive verify` passes, and names a reply or file changed behind
the application."""

from datetime import timedelta

from sqlalchemy import select, update

from backoffice.models import BalanceConfirmationFile, BalanceConfirmationRequest
from backoffice.models.balance_archive import BalanceConfirmationArchive
from backoffice.models.balance_confirmation import BalanceConfirmationStatus
from backoffice.models.base import utcnow
from backoffice.services import balance_archive
from backoffice.services.storage import get_storage
from tests import balance_world


def _year_end(app):
    return app.test_cli_runner().invoke(args=["archive", "year-end", "--year", "2026", "--inline"])


def test_the_year_end_transfer_archives_each_reply_once_and_verify_passes(app, db):
    """Four replies (confirmed ×2, disputed, letter) with their lines, the disputed lines and
    the uploaded letter; a second transfer adds nothing; verify: intact. The negative form's
    silence waits while its link still works (the debtor may yet disagree), then comes."""
    made = balance_world.build()["requests"]
    out = _year_end(app)
    assert out.exit_code == 0, out.output
    package = db.session.scalar(select(BalanceConfirmationArchive))
    assert package.archive_no.startswith("XZDA2026-") and package.requests == 4
    items = package.manifest["items"]
    refs = {i[2] for i in items if i[1] == "reply"}
    answered = ("confirmed", "disputed", "letter_returned", "reconciliation")
    assert refs == {f"balance_confirmation_request:{made[s].id}" for s in answered}
    assert any(i[2].startswith("balance_dispute_line:") for i in items)
    letter = db.session.scalar(select(BalanceConfirmationFile))
    doc = next(i for i in items if i[1] == "document")
    assert doc[4] == letter.sha256 and doc[3] == letter.original_name
    assert _year_end(app).exit_code == 0
    assert db.session.scalar(select(BalanceConfirmationArchive.id).offset(1)) is None
    result = app.test_cli_runner().invoke(args=["archive", "verify", "--all"])
    assert result.exit_code == 0, result.output
    assert f"{package.archive_no}: intact (4 replies)" in result.output
    silent = made["no_disagreement"]
    for link in silent.links:
        link.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    later = balance_archive.seal_replies(db.session, 2026)
    assert later.requests == 1
    assert later.manifest["items"][0][2] == f"balance_confirmation_request:{silent.id}"


def test_a_late_reply_goes_into_a_second_package(app, db):
    """A letter answered after the transfer is archived by the next one, alone."""
    made = balance_world.build()["requests"]
    balance_archive.seal_replies(db.session, 2026)
    made["sent"].status = BalanceConfirmationStatus.CONFIRMED
    made["sent"].debtor_balance = made["sent"].balance
    db.session.commit()
    second = balance_archive.seal_replies(db.session, 2026)
    assert second is not None and second.requests == 1
    assert balance_archive.seal_replies(db.session, 2026) is None


def test_verify_names_a_reply_edited_behind_the_application(app, db):
    """A debtor's figure changed in the database, a file's bytes replaced: both reported."""
    made = balance_world.build()["requests"]
    package = balance_archive.seal_replies(db.session, 2026)
    req = made["disputed"]
    db.session.execute(
        update(BalanceConfirmationRequest)
        .where(BalanceConfirmationRequest.id == req.id)
        .values(debtor_balance=req.balance)
    )
    db.session.commit()
    problems = balance_archive.verify(db.session, package)
    assert any("debtor_balance" in reason for _where, reason in problems), problems
    letter = db.session.scalar(select(BalanceConfirmationFile))
    path = get_storage()._path(letter.storage_key)  # the local folder storage
    path.chmod(0o644)
    path.write_bytes(b"%PDF-1.4 forged")
    out = app.test_cli_runner().invoke(args=["archive", "verify", package.archive_no])
    assert out.exit_code != 0
    assert "debtor_balance" in out.output and "file bytes changed" in out.output
