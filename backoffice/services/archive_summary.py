"""The archive manifest in words (Art.22, issue 11): what the case summary PDF and the archive's
page print for each manifest row, never a table name."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from backoffice.labels import record_label
from backoffice.models.archive import ArchiveItem
from backoffice.models.writeoff import ApprovalStep

KIND_LABELS = {
    "document": _l("Evidence document"),
    "case": _l("Collection case"),
    "record": _l("Case record"),
    "writeoff": _l("Write-off application"),
    "decision": _l("Approval decision"),
}


@dataclass(frozen=True)
class SummaryRow:
    seq: int
    kind: str
    name: str
    sha256: str


def summary_rows(items: list[ArchiveItem]) -> list[SummaryRow]:
    """The manifest as the case summary prints it: every row named in words (what the record
    is, its number), never by its table name. The manifest itself keeps its raw names."""
    steps = {step.value: step for step in ApprovalStep}
    rows = []
    for item in items:
        table, _, row_id = item.ref.partition(":")
        if item.kind == "record":
            name = f"{record_label(table)} #{row_id}"
        elif item.kind == "decision" and item.name in steps:
            name = f"{steps[item.name].label} #{row_id}"
        else:
            name = item.name
        kind = KIND_LABELS.get(item.kind) or record_label(item.kind)
        rows.append(SummaryRow(item.seq, str(kind), str(name), item.sha256))
    return rows
