"""List pages that stay fast on a million rows.

Flask-Admin pages with ``OFFSET`` over fully joined rows and searches with ``ILIKE '%x%'``;
both scan the table. ``FastListMixin`` instead
- pages over primary keys only (a "deferred join"): the ordered, filtered id list is walked in
  the index, then just that page's rows are loaded with their relations; ties on the sort
  column are broken by the primary key, so pages never overlap;
- searches by exact-or-prefix match on indexed columns (customer code), which an ordinary
  B-tree index answers; by any part (three characters or more) of a document number, which a
  trigram index answers (``services.substring_search``); and by any part of a customer's name:
  Chinese
  company names start with a place (广州凯旋…), so people search by the distinctive middle.
  The customer table is small next to the ledger (thousands of rows, not millions), so that
  scan costs little, and the matching rows are then found through the customer index;
- builds the page's ids statement with ``views.listpage`` (issue 13): the pager's next and
  previous links seek from the last or first row's position (keyset) instead of ``OFFSET``,
  and a search is a union of one look-up per index, each giving (sort value, id), so the
  matches are never fetched again by key to be sorted. Exports keep the single ``IN``
  criterion (``_search_criterion``) over the whole ordered query.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import has_request_context, request
from sqlalchemy import and_, select, union
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import aliased, joinedload

from backoffice.extensions import db
from backoffice.memo import recall, remember
from backoffice.services import substring_search
from backoffice.services.ledger_cache import LEDGER_TABLES, ledger_version
from backoffice.views import listpage, page_anchors

MAX_CHAR = "\U0010ffff"
#: Shorter terms match names by their start only ("广" alone would match half the ledger).
MIN_CONTAINS = 2


def prefix_match(column: Any, term: str) -> Any:
    """``column`` equals or starts with ``term``: an index range, checked exactly by LIKE."""
    return and_(
        column >= term, column < term + MAX_CHAR, column.like(_escaped(term) + "%", escape="\\")
    )


_escaped = substring_search.escaped


def name_match(column: Any, term: str) -> Any:
    """``column`` contains ``term`` anywhere (two characters or more), else starts with it.

    A column with a trigram index (``substring_search.INDEXED``: customer names) is looked up
    in it for terms of three characters or more; shorter terms scan, as a trigram cannot
    answer them."""
    if len(term) < MIN_CONTAINS:
        return prefix_match(column, term)
    # The index names the table's own rows: an aliased column scans.
    aliased_column = getattr(column.parent, "is_aliased_class", False)
    table_name = None if aliased_column else column.class_.__tablename__
    indexed = column.key in substring_search.INDEXED.get(table_name, ())
    if indexed and len(term) >= substring_search.MIN_SUBSTRING:
        return substring_search.substring_criteria(column.class_, (column.key,), term)[0]
    return column.like("%" + _escaped(term) + "%", escape="\\")


class FastListMixin:
    """Mix into a ``SecuredModelView`` before it; configure the search columns below."""

    #: Own columns matched as exact-or-prefix by the search box.
    prefix_search_columns: tuple[str, ...] = ()
    #: Own columns matched by any part of the term (names: see ``name_match``).
    contains_search_columns: tuple[str, ...] = ()
    #: Own number columns matched by any part of a term of 3+ characters through their trigram
    #: index (``substring_search.INDEXED``), shorter terms by their start.
    substring_search_columns: tuple[str, ...] = ()
    #: Also match rows whose customer's name contains the term or whose ERP code equals it.
    customer_prefix_search: bool = False
    #: What the search box says it searches (shown as its placeholder).
    search_hint: Any = None

    def _fast_search(self) -> bool:
        columns = (
            self.prefix_search_columns
            + self.contains_search_columns
            + self.substring_search_columns
        )
        return bool(columns or self.customer_prefix_search)

    def init_search(self) -> bool:
        if self._fast_search():
            self._search_supported = True
            return True
        return super().init_search()

    def search_placeholder(self) -> str | None:
        if self.search_hint is not None:
            return str(self.search_hint)
        return super().search_placeholder()

    def _search_criterion(self, term: str) -> Any:
        """The rows matching ``term``: the union of one index range per searched column.

        A plain ``OR`` of these ranges (one of them through the customer table) defeats the
        PostgreSQL planner, which then walks the whole sort index; a ``UNION`` of separate
        index look-ups gives it the few matching keys first.
        """
        pk_name = sa_inspect(self.model).primary_key[0].key
        parts = []
        for name in self.prefix_search_columns:
            row = aliased(self.model)
            parts.append(
                select(getattr(row, pk_name)).where(prefix_match(getattr(row, name), term))
            )
        if self.substring_search_columns and len(term) >= substring_search.MIN_SUBSTRING:
            parts += substring_search.substring_keys(
                self.model, self.substring_search_columns, term
            )
        else:
            for name in self.substring_search_columns:
                row = aliased(self.model)
                parts.append(
                    select(getattr(row, pk_name)).where(prefix_match(getattr(row, name), term))
                )
        for name in self.contains_search_columns:
            row = aliased(self.model)
            parts.append(select(getattr(row, pk_name)).where(name_match(getattr(row, name), term)))
        if self.customer_prefix_search:
            from backoffice.models.customer import Customer

            by_name = select(Customer.id).where(name_match(Customer.name, term))
            by_code = select(Customer.id).where(Customer.erp_code == term)
            for customers in (by_name, by_code):
                row = aliased(self.model)
                parts.append(select(getattr(row, pk_name)).where(row.customer_id.in_(customers)))
        keys = parts[0] if len(parts) == 1 else union(*parts)
        return getattr(self.model, pk_name).in_(keys)

    def _apply_search(self, query, count_query, joins, count_joins, search):
        if not self._fast_search():
            return super()._apply_search(query, count_query, joins, count_joins, search)
        for term in search.split():
            criterion = self._search_criterion(term)
            query = query.filter(criterion)
            if count_query is not None:
                count_query = count_query.filter(criterion)
        return query, count_query, joins, count_joins

    def _apply_sorting(self, query, joins, sort_column, sort_desc):
        query, joins = super()._apply_sorting(query, joins, sort_column, sort_desc)
        if sort_column is None:  # Flask-Admin applied the default order itself
            defaults = list(self._get_default_order())
            sort_desc = bool(defaults[-1][2]) if defaults else sort_desc
        # Same direction as the sort column, so one index walk serves both.
        pk = sa_inspect(self.model).primary_key[0]
        return query.order_by(pk.desc() if sort_desc else pk), joins

    def _search_branches(self, term: str) -> list[Any]:
        """The rows matching ``term`` as one criterion per index (``listpage``): the same
        matches as ``_search_criterion``, each on the list's own rows."""
        pk = sa_inspect(self.model).primary_key[0]
        branches = []
        for name in self.prefix_search_columns:
            branches.append(prefix_match(getattr(self.model, name), term))
        if self.substring_search_columns and len(term) >= substring_search.MIN_SUBSTRING:
            branches += substring_search.substring_criteria(
                self.model, self.substring_search_columns, term
            )
        else:
            for name in self.substring_search_columns:
                branches.append(prefix_match(getattr(self.model, name), term))
        for name in self.contains_search_columns:
            branches.append(name_match(getattr(self.model, name), term))
        if self.customer_prefix_search:
            from backoffice.models.customer import Customer

            branches.append(
                self.model.customer_id.in_(
                    select(Customer.id).where(name_match(Customer.name, term))
                )
            )
            branches.append(
                self.model.customer_id.in_(select(Customer.id).where(Customer.erp_code == term))
            )
        return branches or [pk.is_(None)]

    def _get_list_extra_args(self):
        # The keyset position belongs to the pager's links only, not to sort or filter links.
        args = super()._get_list_extra_args()
        for name in (listpage.AFTER, listpage.BEFORE):
            args.extra_args.pop(name, None)
        return args

    def _list_position(self, columns) -> tuple[list, bool] | None:
        """(values, forward) of the pager's ``after`` / ``before`` link, if it fits the order."""
        if columns is None or not has_request_context():
            return None
        for name, forward in ((listpage.AFTER, True), (listpage.BEFORE, False)):
            values = listpage.parse_cursor(request.args.get(name), columns)
            if values is not None:
                return values, forward
        return None

    def keyset_links(self, page: int, data: list, page_size: int, pager_url) -> dict | None:
        """The pager's previous and next links, each with the keyset position (``listpage``);
        None when this list pages by number only (``order_columns`` found no plain order)."""
        columns = recall(("qq_list_order", id(self)))
        if columns is None:
            return None
        links: dict[str, str | None] = {"previous": None, "next": None}
        if page > 0:
            cursor = listpage.cursor_of(data[0], columns) if data else None
            links["previous"] = pager_url(page - 1) + (
                f"&{listpage.BEFORE}={quote(cursor, safe='')}" if cursor else ""
            )
        if data and len(data) == page_size:
            cursor = listpage.cursor_of(data[-1], columns)
            links["next"] = pager_url(page + 1) + (
                f"&{listpage.AFTER}={quote(cursor, safe='')}" if cursor else ""
            )
        return links

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        if not execute:  # exports: the whole filtered, searched, ordered query
            return super().get_list(
                page, sort_column, sort_desc, search, filters, execute=False, page_size=page_size
            )
        terms = search.split() if search and self._search_supported else []
        # By branch only where no COUNT(*) is shown: the count query keeps the IN criterion.
        by_branch = bool(terms) and self._fast_search() and self.simple_list_pager
        count, query = super().get_list(
            page,
            sort_column,
            sort_desc,
            None if by_branch else search,
            filters,
            execute=False,
            page_size=page_size,
        )
        query = query.limit(None).offset(None)  # paged below, after the search
        columns = listpage.order_columns(query, self.model)
        remember(("qq_list_order", id(self)), columns)
        branches = None
        if by_branch and columns is None:  # an order the union cannot carry: one IN criterion
            for term in terms:
                query = query.filter(self._search_criterion(term))
        elif by_branch:
            for term in terms[1:]:
                query = query.filter(self._search_criterion(term))
            branches = self._search_branches(terms[0])
        pk = sa_inspect(self.model).primary_key[0]
        position = self._list_position(columns)
        if columns is None:
            query = self._apply_pagination(query, page, page_size)
            ids = [row[0] for row in query.with_entities(pk).all()]
        else:
            size = self.page_size if page_size is None else page_size
            offset = (page or 0) * (size or 0)
            anchor = None
            if position is None:  # a page opened by its number: from a remembered start?
                anchor = self._page_anchor(query, columns, branches, offset)
            skip, start = (offset, None) if anchor is None else (offset - anchor[1], anchor[2])
            stmt = listpage.ids_statement(
                query, self.model, columns, branches, position, size, skip, start
            )
            ids = list(db.session.execute(stmt).scalars())
            if position is not None and not position[1]:
                ids.reverse()
        if not ids:
            return count, []
        rows_query = self.get_query().filter(pk.in_(ids))
        for relation in self._auto_joins:
            rows_query = rows_query.options(joinedload(relation))
        # Views with SQL-computed columns (aging, penalty) select them with the page's rows.
        extra = self.request_computed_columns() if hasattr(self, "request_computed_columns") else {}
        if extra:
            rows_query = rows_query.add_columns(*extra.values())
        by_id = {}
        for row in rows_query.all():
            obj = row[0] if extra else row
            for name, value in zip(extra, row[1:] if extra else (), strict=True):
                setattr(obj, name, value)
            by_id[sa_inspect(obj).identity[0]] = obj
        data = [by_id[i] for i in ids if i in by_id]
        if anchor is not None and data and ids[0] in by_id:
            sig, version = anchor[0]
            values = [getattr(data[0], c.key) for c, _ in columns]
            page_anchors.remember(sig, version, offset, values)
        return count, data

    def _page_anchor(self, query, columns, branches, offset) -> tuple | None:
        """((signature, ledger version), offset, sort values) of the remembered page start
        nearest before ``offset`` (offset 0 and values None if none yet), for a deep page of a
        ledger table opened by its number; None for pages near the top and other tables."""
        if offset < page_anchors.MIN_OFFSET or self.model.__tablename__ not in LEDGER_TABLES:
            return None
        bare = listpage.ids_statement(query, self.model, columns, branches, None, None, 0)
        key = (page_anchors.signature(bare, db.engine.dialect), ledger_version(db.session))
        found = page_anchors.nearest(*key, offset)
        return (key, 0, None) if found is None else (key, *found)
