"""ERP import of receivables and payments (SPEC §3.1, issues 3, 11 and 13).

An import reads an .xlsx or .csv export with Chinese or English headers, or records already
parsed (an API's JSON), and checks and writes them in ONE pass, ``CHUNK_SIZE`` rows at a time,
in one transaction: all or nothing by default, the valid rows only on request, nothing in a dry
run. The report names every problem of every row. Modules:

- ``headers``: synonyms, saved column mappings, finding the header row, the totals line;
- ``values``: amounts, dates, text, document types, payment kinds, currencies;
- ``report``: reasons, issues, the outcome stored as ``ImportBatch.report``;
- ``source``: reading a file once (hash, encoding, rows);
- ``core``: the run over records; ``checks``: checks across rows and lines;
- ``receivables``, ``payments``: one module per kind;
- ``trail``: bulk inserts with one audit entry per chunk, and ``verify_batch``;
- ``batch``: ``create_batch``, ``run_batch``, ``import_file``, ``import_records``.
"""

from __future__ import annotations

from backoffice.services.importer.batch import (
    create_batch,
    file_sha256,
    import_file,
    import_records,
    run_batch,
)
from backoffice.services.importer.core import Progress, Row, Run
from backoffice.services.importer.headers import (
    FIELD_LABELS,
    REQUIRED,
    SYNONYMS,
    map_columns,
    synonym_table,
)
from backoffice.services.importer.report import (
    REASONS,
    TEXT_COLUMNS,
    WARNING_LINES_LISTED,
    Issue,
    Outcome,
    RowProblem,
)
from backoffice.services.importer.trail import verify_batch
from backoffice.services.importer.values import (
    CURRENCIES,
    DOC_TYPES,
    N_,
    normalize_header,
    parse_amount,
    parse_currency,
    parse_date,
    parse_doc_type,
    parse_payment_kind,
    text,
)

CHUNK_SIZE = 1000  # rows per chunk: per look-up query, per insert, per audit entry

__all__ = [
    "CHUNK_SIZE", "CURRENCIES", "DOC_TYPES", "FIELD_LABELS", "N_", "REASONS", "REQUIRED",
    "SYNONYMS", "TEXT_COLUMNS", "WARNING_LINES_LISTED", "Issue", "Outcome", "Progress", "Row",
    "RowProblem", "Run", "create_batch", "file_sha256", "import_file", "import_records",
    "map_columns", "normalize_header", "parse_amount", "parse_currency", "parse_date",
    "parse_doc_type", "parse_payment_kind", "run_batch", "synonym_table", "text", "verify_batch",
]  # fmt: skip
