"""A scanner over rendered HTML for raw values that must never reach the Chinese UI (issue 11).

It reads the page's text (not ``<script>``/``<style>``, not attribute values) and reports:
Python reprs (``#None``, ``<Role``, ``<SalesUnit``), a bare ``True``/``False``/``true``/``false``
cell, an ISO timestamp with seconds or a time zone, an upper-case enum name (``OPEN``,
``PRODUCT``) and English UI words (``Save``, ``Delete``, ``Not Found`` …). Codes the business
really uses (ERP codes, document numbers, ``CSV``, ``PDF``, ``SHA-256``, ``ID`` …) pass.

It also reports a bare ``<input type="file">``: the browser draws its button and "No file
chosen" in the browser's own language, so every upload field must be our labelled control
(``templates/admin/_file_input.html``), whose native input carries ``qq-file-input``.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

#: Python reprs and placeholders that only show when a value was rendered raw.
RAW_MARKERS = ("#None", "<Role", "<SalesUnit", "<User", "<Company", "<Customer", "Decimal(",
               "datetime.", "{'", "[<")  # fmt: skip

#: The models' fallback name, ``AccountabilityFinding #1``: a record named by its table and id.
MODEL_FALLBACK = re.compile(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)* #(?:\d+|None)\b")

BARE_BOOLEANS = {"True", "False", "true", "false", "None", "null", "nan", "NaN"}

#: 2026-03-01 10:30:15, 2026-03-01T10:30, 2026-03-01 10:30+08:00, …Z
ISO_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}|[ ]\d{2}:\d{2}:\d{2}|[ T]\d{2}:\d{2}(?::\d{2})?"
    r"(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))"
)

#: An upper-case word on its own: not glued to a digit, hyphen, dot or underscore-code.
UPPER_WORD = re.compile(r"(?<![A-Za-z0-9\-_./])[A-Z][A-Z_]{2,}(?![A-Za-z0-9\-_./])")

#: Upper-case words the business writes that way.
ALLOWED_UPPER = {
    "CSV", "XLSX", "XLS", "PDF", "SHA", "ERP", "URL", "HTTP", "HTTPS", "RMB", "CNY", "USD",
    "EUR", "HKD", "VAT", "API", "UTC", "PNG", "JPG", "JPEG", "ZIP", "GBK", "UTF", "RQ", "CFO",
    "AAA", "BBB", "CCC",  # credit ratings
    "VP", "OCR", "HTML", "JSON", "CEO", "IT", "SQL", "DOCX", "DOC", "TXT", "OFD", "EMS",
}  # fmt: skip

#: English words of a UI that should be Chinese. Matched case-sensitively, as whole words.
ENGLISH_WORDS = [
    "Record", "Records", "Save", "Delete", "List", "Create", "Edit", "Export", "Import",
    "Details", "Detail", "Filter", "Filters", "Search", "None", "True", "False", "Submit",
    "Cancel", "Error", "Traceback", "Not Found", "Forbidden", "Unauthorized", "Bad Request",
    "Internal Server Error", "Method Not Allowed", "Add", "New", "Back", "Home", "Login",
    "Log in", "Log out", "Logout", "Sign in", "Password", "Username", "Actions", "View",
    "Upload", "Download", "Previous", "Next", "Close", "Confirm", "Yes", "Apply", "Reset",
    "Remove", "Approve", "Reject", "Status", "Name", "Amount", "Customer", "Receivable",
    "Please", "Select", "Choose", "Loading", "Warning", "Success", "required", "Required",
    "Invalid", "Clear", "Refresh", "Print", "Settings", "Dashboard", "Report", "Archive",
    "Verify", "Comment", "Total", "Page", "Welcome", "Permission", "denied", "Unknown",
    "Pending", "Approved", "Rejected", "Draft", "Submitted", "Open", "Closed", "Sealed",
    "Overdue", "Write-off", "Case", "Evidence", "Letter", "Sanction", "Finding", "Cost",
    "Costs", "Plan", "Unit", "Company", "Collector", "Finance", "Legal", "Leader", "Auditor",
    "Admin", "Credit", "Team lead", "Job", "Jobs", "Queued", "Running", "Failed", "Finished",
    "Batch", "Lines", "Line", "Answer", "Route", "Return", "Seal", "Hash", "Result",
    "Progress", "Other", "Empty", "Nothing", "Found", "Invalid", "Expected", "Missing",
    "Date", "Time", "Type", "Note", "Reason", "Owner", "Stage", "Strategy", "Rating",
]  # fmt: skip
ENGLISH = re.compile(
    r"(?<![A-Za-z0-9_\-./@])(?:" + "|".join(sorted(map(re.escape, set(ENGLISH_WORDS)), key=len,
                                                    reverse=True)) + r")(?![A-Za-z0-9_\-@])"
)  # fmt: skip


class _Text(HTMLParser):
    """Collects the text nodes outside <script>, <style> and <template>."""

    SKIP = {"script", "style", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.nodes: list[str] = []
        self.native_files: list[str] = []  # ids of file inputs the browser would label itself

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.depth += 1
        values = dict(attrs)
        native_file = tag == "input" and (values.get("type") or "").lower() == "file"
        if native_file and "qq-file-input" not in (values.get("class") or "").split():
            self.native_files.append(values.get("id") or values.get("name") or "?")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth and data.strip():
            self.nodes.append(data.strip())


#: Flask-Admin's filter definitions: JSON for its script, in hidden ``<div>``s, keyed by value.
_FILTER_DATA = re.compile(r'<div id="(?:filter-groups|active-filters)-data"[^>]*>.*?</div>', re.S)


def _parse(html: str) -> _Text:
    parser = _Text()
    parser.feed(_FILTER_DATA.sub("", html))
    parser.close()
    return parser


def text_nodes(html: str) -> list[str]:
    """The page's visible text, one entry per text node, entities decoded."""
    return [unescape(n) for n in _parse(html).nodes]


def scan(html: str, allowed: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Every raw value or English UI word in the page's text, as ``"kind: 'text'"`` lines.

    ``allowed`` adds upper-case codes of the data set (company and unit codes) to the
    legitimate ones.
    """
    findings: list[str] = []
    parsed = _parse(html)
    for name in parsed.native_files:
        findings.append(f"native file input {name!r}: the browser labels it in its own language")
    for node in (unescape(n) for n in parsed.nodes):
        short = node if len(node) < 120 else node[:117] + "…"
        for marker in RAW_MARKERS:
            if marker in node:
                findings.append(f"raw value {marker!r}: {short!r}")
        for m in MODEL_FALLBACK.finditer(node):
            findings.append(f"record named by table and id {m.group()!r}: {short!r}")
        if node in BARE_BOOLEANS:
            findings.append(f"bare value: {short!r}")
        for m in ISO_TIMESTAMP.finditer(node):
            findings.append(f"ISO timestamp {m.group()!r}: {short!r}")
        for m in UPPER_WORD.finditer(node):
            word = m.group()
            if word not in ALLOWED_UPPER and word not in allowed:
                findings.append(f"upper-case name {word!r}: {short!r}")
        for m in ENGLISH.finditer(node):
            findings.append(f"English word {m.group()!r}: {short!r}")
    return findings
