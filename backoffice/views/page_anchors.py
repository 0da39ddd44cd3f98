"""Where a deep page starts, remembered per list and ledger version (issue 13).

A page opened by its number (``?page=40000``, a bookmark, an edited URL) is read with
``OFFSET n``: the database walks n entries of the (sort column, id) index whatever the plan, so
page 40,000 of a 1M-row ledger costs about four times page 1. Once such a page has been read,
its first row's position is known; this module keeps it, keyed by the page's ids statement
(filters, search, scope and order, with their values) and the ledger version. A later request
for that page, or for any page after it, seeks to the nearest remembered position at or before
its offset (one index descent, ``(due_date, id) <= (…)``) and skips only the rows between.

Exact by construction: the ledger version changes with every committed write to a ledger table
(``ledger_cache``), so a position is only reused while the rows it counts are unchanged. Lists
of other tables do not use it. Per process and bounded, like the other ledger caches.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from typing import Any

#: Pages that start closer to the top than this are read by OFFSET alone: skipping a few
#: thousand index entries costs less than compiling the statement's signature.
MIN_OFFSET = 5_000
_MAX_LISTS = 256
_MAX_POSITIONS = 64  # per list: the most recent deep pages read

_lock = threading.Lock()
# (signature, ledger version) → sorted offsets and, per offset, the first row's sort values.
_lists: OrderedDict[tuple[str, str], tuple[list[int], dict[int, list]]] = OrderedDict()


def signature(stmt: Any, dialect: Any) -> str:
    """The ids statement without paging, with its parameters: two requests share positions
    only if they select the same rows in the same order."""
    compiled = stmt.compile(dialect=dialect)
    params = sorted((k, repr(v)) for k, v in compiled.params.items())
    return f"{compiled}\n{params}"


def nearest(sig: str, version: str, offset: int) -> tuple[int, list] | None:
    """(offset, sort values) of the remembered page start nearest at or before ``offset``."""
    with _lock:
        entry = _lists.get((sig, version))
        if entry is None:
            return None
        _lists.move_to_end((sig, version))
        offsets, values = entry
        at = bisect.bisect_right(offsets, offset) - 1
        if at < 0:
            return None
        return offsets[at], values[offsets[at]]


def remember(sig: str, version: str, offset: int, values: list) -> None:
    """The row at ``offset`` of this list, under this ledger version, has these sort values."""
    if any(v is None for v in values):
        return  # NULL sorts differently per database: such a row is no position to seek from
    with _lock:
        entry = _lists.get((sig, version))
        if entry is None:
            entry = _lists[(sig, version)] = ([], {})
            while len(_lists) > _MAX_LISTS:
                _lists.popitem(last=False)
        _lists.move_to_end((sig, version))
        offsets, known = entry
        if offset not in known:
            bisect.insort(offsets, offset)
            if len(offsets) > _MAX_POSITIONS:
                del known[offsets.pop(0)]
        known[offset] = list(values)


def clear() -> None:
    with _lock:
        _lists.clear()
