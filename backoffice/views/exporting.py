"""The CSV and XLSX exports of every list (Flask-Admin's export button), made safe and usable.

Flask-Admin's own export wrote cells as they came (formula injection), stored amounts and dates
as text in a sheet named "Tablib Dataset", named the file by a timestamp, and, where a view had
no export formatters, exported the list page's HTML. ``ExportMixin`` replaces it: the rows go
through ``backoffice.services.export`` (inert text, typed numbers and dates, enum labels, 是/否),
the sheet is named after the resource (应收账款), the file ``应收账款-2026-11-30.xlsx`` (RFC 5987
``filename*`` through ``attachment``), and list formatters never reach an export: a view sets
``column_formatters_export`` for the columns it wants shown differently in files.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from typing import Any

from flask import flash, redirect
from flask_babel import gettext as _
from sqlalchemy import inspect as sa_inspect

from backoffice.models.base import Rate
from backoffice.services.export import RATE_FORMAT, export_filename, write_csv, write_xlsx

CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SPOOL_BYTES = 8 * 1024 * 1024  # a bigger CSV goes to a temporary file, not memory


class ExportMixin:
    """Export endpoints of ``SecuredModelView`` (the permission check runs before them)."""

    # Not Flask-Admin's default (the list formatters, which may produce HTML): exports show
    # the values themselves unless a view names an export formatter for a column.
    column_formatters_export: Any = {}

    def get_export_name(self, export_type: str = "csv") -> str:
        return export_filename(self.name, export_type)

    def _export_table(self) -> tuple[list[str], Iterator[list[Any]]]:
        """The header and the rows (formatted one at a time, as the writer asks for them)."""
        _count, data = self._export_data()
        columns = self._export_columns
        headers = [str(label) for _name, label in columns]
        rows = ([self.get_export_value(row, name) for name, _label in columns] for row in data)
        return headers, rows

    def _number_formats(self) -> dict[int, str]:
        """Rate columns (a daily 0.0005) keep their places; other decimals are money."""
        formats = {}
        mapper = sa_inspect(self.model)
        for i, (name, _label) in enumerate(self._export_columns):
            column = mapper.columns.get(name) if isinstance(name, str) else None
            if column is not None and isinstance(column.type, Rate):
                formats[i] = RATE_FORMAT
        return formats

    def _export_csv(self, return_url: str) -> Any:
        from backoffice.views.base import attachment

        headers, rows = self._export_table()
        out = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - sent, then closed
        write_csv(out, headers, rows)
        out.seek(0)
        return attachment(out, self.get_export_name("csv"), CSV_MIMETYPE)

    def _export_tablib(self, export_type: str, return_url: str) -> Any:
        from backoffice.views.base import attachment

        if export_type != "xlsx":
            flash(_("This export format is not available."), "error")
            return redirect(return_url)
        headers, rows = self._export_table()
        out = io.BytesIO()
        write_xlsx(out, self.name, headers, rows, number_formats=self._number_formats())
        return attachment(out.getvalue(), self.get_export_name("xlsx"), XLSX_MIMETYPE)
