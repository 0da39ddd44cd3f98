"""Refresh the dashboard's shared figures in the background (issue 13).

Queued by ``services.dashboard_cache``: when a view found its scope's figures older than the
ledger, and after an import or a monthly run. A cache refresh only reads the ledger, so it is
not a tracked job (no job row, no audit entry); a failed refresh leaves the older figures,
which the dashboard keeps marking with the time they were computed.
"""

from __future__ import annotations

from backoffice.services import dashboard_cache


def refresh_scope(scope: list, as_of: str) -> None:
    """Recompute the dashboard figures of one scope ([company id, unit ids or None])."""
    dashboard_cache.refresh_scope(scope, as_of)
