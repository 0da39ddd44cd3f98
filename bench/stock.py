"""The stock baseline (issue 13): a plain Flask-Admin ``ModelView`` over the same tables.

Mounted at ``/stock/`` on the benchmark's app, beside the project's views, so both are measured
through the same app, database and test client, request by request in turn. It is what a
Flask-Admin 2.x project gets with no work: ``OFFSET`` paging with a ``COUNT(*)`` per page, and
``ILIKE '%x%'`` search over the listed columns (the document number and, through a join, the
customer's name). No login, permission or scope check, no computed columns.
"""

from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_admin.theme import Bootstrap4Theme

from backoffice.extensions import db
from backoffice.models import Payment, Receivable


class StockReceivableView(ModelView):
    column_list = ("doc_no", "customer", "sales_unit", "amount", "outstanding", "due_date")
    column_searchable_list = ("doc_no", "customer.name")
    column_default_sort = ("due_date", True)
    can_set_page_size = True


class StockPaymentView(ModelView):
    column_list = ("payment_no", "customer", "amount", "received_on", "doc_no_ref")
    column_searchable_list = ("payment_no", "doc_no_ref")
    column_default_sort = ("received_on", True)


def add_stock_admin(app: Flask) -> Admin:
    """Register the stock views under ``/stock/`` (before the app serves its first request)."""
    admin = Admin(app, name="stock", url="/stock", endpoint="stock", theme=Bootstrap4Theme())
    admin.add_view(
        StockReceivableView(
            Receivable, db.session, endpoint="stock_receivable", url="/stock/receivable"
        )
    )
    admin.add_view(
        StockPaymentView(Payment, db.session, endpoint="stock_payment", url="/stock/payment")
    )
    return admin
