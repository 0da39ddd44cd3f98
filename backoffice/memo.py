"""Values worked out once per request and reused for the rest of it (issue 13).

A list page asks the same questions many times: the menu checks each of its views' permission
three or four times, and the page query and its rows both need the aging columns. ``per_request``
answers each question once. The store lives in ``g`` and is tied to the request object itself,
so nothing carries over to the next request, even where one app context serves several requests
(the test client). Outside a request every call computes afresh.

Only things that cannot change during the request belong here, or things whose change is
signalled with ``forget`` (as ``ledger_cache`` does for the ledger version).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import g, has_request_context, request

T = TypeVar("T")
_MISSING = object()


def _store() -> dict[Hashable, Any] | None:
    if not has_request_context():
        return None
    current = request._get_current_object()
    held = g.get("_qq_request_memo")
    if held is None or held[0] is not current:
        held = g._qq_request_memo = (current, {})
    return held[1]


def per_request(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()`` once per request under ``key``; later calls in the request reuse it."""
    store = _store()
    if store is None:
        return compute()
    value = store.get(key, _MISSING)
    if value is _MISSING:
        value = store[key] = compute()
    return value


def remember(key: Hashable, value: Any) -> None:
    """Keep ``value`` under ``key`` for the rest of this request (no-op outside a request)."""
    store = _store()
    if store is not None:
        store[key] = value


def recall(key: Hashable, default: Any = None) -> Any:
    """The value kept under ``key`` in this request, else ``default``."""
    store = _store()
    return default if store is None else store.get(key, default)


def forget(key: Hashable) -> None:
    """Drop ``key``: the next ``per_request`` or ``recall`` in this request works it out anew."""
    store = _store()
    if store is not None:
        store.pop(key, None)
