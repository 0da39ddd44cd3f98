"""What an integration token may be granted: one resource and one action per scope."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

#: scope → its label on the token screen. ``write`` pushes, ``read`` pulls.
SCOPES: dict[str, Any] = {
    "receivables:write": _l("Push receivables"),
    "payments:write": _l("Push payments"),
    "customers:read": _l("Read customers (balance, aging, debt class)"),
    "cases:read": _l("Read collection cases (stage, next step)"),
    "statements:read": _l("Read statements of account and their PDFs"),
    "writeoffs:read": _l("Read filed write-offs"),
}


def valid_scopes(values: list[str]) -> list[str]:
    """The known scopes among ``values``, in the table's order (unknown ones are dropped)."""
    wanted = set(values)
    return [s for s in SCOPES if s in wanted]


def scope_labels(values: list[str]) -> list[str]:
    return [str(SCOPES[s]) for s in valid_scopes(values)]
