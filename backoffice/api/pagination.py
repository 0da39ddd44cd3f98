"""Cursor pagination: pages in ascending id order, the cursor an opaque signed token.

The cursor carries the last id served (and the list it belongs to), signed with the app's
secret, so a client can neither forge one nor use one list's cursor on another. Ascending ids
make it stable under inserts: a row added while a client pages through appears once, on a
later page, and no row is skipped or served twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Select
from sqlalchemy.orm import Session

from backoffice.api.problems import ApiProblem

_SALT = "qq-api-cursor"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def encode(listing: str, last_id: int) -> str:
    return _serializer().dumps([listing, last_id])


def decode(listing: str, cursor: str) -> int:
    try:
        name, last_id = _serializer().loads(cursor)
    except (BadSignature, ValueError, TypeError) as exc:
        raise ApiProblem("bad-cursor") from exc
    if name != listing or not isinstance(last_id, int):
        raise ApiProblem("bad-cursor")
    return last_id


def page_size() -> int:
    cfg = current_app.config
    raw = request.args.get("limit")
    if raw is None:
        return int(cfg["API_PAGE_SIZE"])
    try:
        size = int(raw)
    except ValueError as exc:
        raise ApiProblem("bad-request", "limit") from exc
    if not 1 <= size <= int(cfg["API_MAX_PAGE_SIZE"]):
        raise ApiProblem("bad-request", f"limit: 1–{cfg['API_MAX_PAGE_SIZE']}")
    return size


def paginate(
    session: Session,
    listing: str,
    stmt: Select,
    id_column: Any,
    render: Callable[[list[Any]], list[dict[str, Any]]],
) -> dict[str, Any]:
    """One page of ``stmt`` after the request's ``cursor``: ``{"items", "next_cursor"}``.

    ``render`` turns the page's rows into JSON items (one call per page, so it can load what
    the page needs in one query). ``next_cursor`` is null on the last page.
    """
    size = page_size()
    cursor = request.args.get("cursor")
    if cursor:
        stmt = stmt.where(id_column > decode(listing, cursor))
    rows = list(session.scalars(stmt.order_by(id_column).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return {
        "items": render(rows),
        "next_cursor": encode(listing, rows[-1].id) if more and rows else None,
    }
