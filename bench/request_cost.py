"""What one page request costs (issue 13): SQL statements and median time per request.

    .venv/bin/python -m bench.request_cost                 # 10k receivables, SQLite under /tmp
    .venv/bin/python -m bench.request_cost --rows 2000 --repeat 5 --label quick

Builds a throwaway SQLite ledger (``bench/generate.py``: customers, receivables, plus some
payments), logs in as a finance user and requests each page as a browser would: every request
gets its own app context, hence its own database session and ``g``, as under gunicorn. For each
page it counts the SQL statements of one warm request (``before_cursor_execute``) and takes the
median time (wall and CPU) of ``--repeat`` requests. The database is analysed first
(``ANALYZE``, as ``bench.run`` does; ``--no-analyze`` to skip). The dashboard is also measured
on its cold path: the first view after a ledger write, when its cached figures must be
recomputed. A profile of the
receivables list (``--profile``) prints the functions that cost the most.

Writes ``bench/results/request-cost.json``: one entry per ``--label`` (e.g. ``before`` and
``after``), so a change can be compared with the code it replaced.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import event, insert, select

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "request-cost.json"

PAGES = {
    "receivable_list_20": "/admin/receivable/?page_size=20",
    "receivable_list_100": "/admin/receivable/?page_size=100",
    "payment_list": "/admin/payment/",
    "customer_list": "/admin/customer/",
    "dashboard_warm": "/admin/",
}


class Counter:
    """Counts (and keeps) the SQL statements sent to the database."""

    def __init__(self, engine):
        self.statements: list[str] = []
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, *args):
        self.statements.append(statement)

    def reset(self) -> None:
        self.statements = []


def _add_payments(n: int) -> None:
    from backoffice.extensions import db
    from backoffice.models import Customer, Payment
    from backoffice.models.base import utcnow
    from backoffice.services.ledger_cache import bump_ledger_version

    customers = db.session.execute(
        select(Customer.id, Customer.company_id, Customer.sales_unit_id).limit(n)
    ).all()
    now, today = utcnow(), date.today()
    rows = [
        {
            "company_id": c.company_id, "sales_unit_id": c.sales_unit_id, "customer_id": c.id,
            "payment_no": f"PAY{i:08d}", "kind": "payment", "amount": Decimal("1000.00"),
            "received_on": today - timedelta(days=i % 365), "unallocated": Decimal("1000.00"),
            "created_at": now, "updated_at": now,
        }
        for i, c in enumerate(customers)
    ]
    db.session.connection().execute(insert(Payment), rows)
    bump_ledger_version(db.session)  # Core inserts skip the ORM hooks
    db.session.commit()


def _touch_ledger(app) -> None:
    """One ordinary ledger write (a customer's contact changes): the dashboard goes cold."""
    from backoffice.extensions import db
    from backoffice.models import Customer

    with app.app_context():
        customer = db.session.scalars(select(Customer).limit(1)).one()
        customer.contact_person = f"联系人{time.perf_counter_ns() % 1000}"
        db.session.commit()


def _request(client, url: str) -> tuple[float, float]:
    """Wall and CPU seconds of one GET (SQLite runs in-process: its work is CPU time here)."""
    wall, cpu = time.perf_counter(), time.process_time()
    response = client.get(url)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert response.status_code == 200, (url, response.status_code)
    return wall, cpu


def _summary(statements: int, samples: list[tuple[float, float]]) -> dict:
    return {
        "statements": statements,
        "median_ms": round(statistics.median(s[0] for s in samples) * 1e3, 2),
        "median_cpu_ms": round(statistics.median(s[1] for s in samples) * 1e3, 2),
    }


def _repeated_work(client, url: str) -> dict:
    """How often one request checks a permission and builds the aging columns."""
    from backoffice.services import aging
    from backoffice.views import base

    calls = {"permission_checks": 0, "aging_column_builds": 0}
    real_can, real_columns = base.can, aging.aging_columns

    def can(*args, **kwargs):
        calls["permission_checks"] += 1
        return real_can(*args, **kwargs)

    def aging_columns(*args, **kwargs):
        calls["aging_column_builds"] += 1
        return real_columns(*args, **kwargs)

    base.can, aging.aging_columns = can, aging_columns
    try:
        _request(client, url)
    finally:
        base.can, aging.aging_columns = real_can, real_columns
    return calls


def measure(app, client, counter: Counter, repeat: int) -> dict:
    out: dict = {}
    for name, url in PAGES.items():
        _request(client, url)  # warm: in-process caches filled, as on a running server
        counter.reset()
        _request(client, url)
        statements = len(counter.statements)
        out[name] = _summary(statements, [_request(client, url) for _ in range(repeat)])
    out["receivable_list_20"].update(_repeated_work(client, PAGES["receivable_list_20"]))
    samples, most = [], 0
    for _ in range(repeat):
        _touch_ledger(app)
        counter.reset()
        samples.append(_request(client, "/admin/"))
        most = max(most, len(counter.statements))
    out["dashboard_cold"] = _summary(most, samples)
    return out


def _profile(client, url: str) -> None:
    import cProfile
    import pstats

    client.get(url)  # templates compiled, caches filled
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(20):
        client.get(url)
    profile.disable()
    pstats.Stats(profile).sort_stats("cumulative").print_stats(45)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--payments", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--label", default="after")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--no-analyze", action="store_true", help="leave SQLite without planner statistics"
    )
    args = parser.parse_args(argv)

    path = Path("/tmp/qq-bench-request-cost.db")
    path.unlink(missing_ok=True)
    os.environ["QQ_VAR_DIR"] = "/tmp/qq-bench-request-cost-var"
    from backoffice import create_app
    from backoffice.config import TestConfig
    from bench import generate

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{path}"
        WTF_CSRF_ENABLED = False
        TESTING = False

    app = create_app(BenchConfig)
    with app.app_context():
        from flask_migrate import upgrade

        from backoffice.extensions import db
        from tests import helpers

        upgrade()
        generate.add_customers(args.customers)
        generate.add_receivables(args.rows)
        _add_payments(args.payments)
        username = helpers.make_user("finance", username="bench-finance").username
        engine = db.engine
        if not args.no_analyze:
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
    # From here on no app context is pushed: each request brings its own, as in production.
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": helpers.PASSWORD})
    assert response.status_code == 302, response.status_code
    counter = Counter(engine)
    if args.profile:
        _profile(client, PAGES["receivable_list_20"])
        return 0
    result = {
        "rows": args.rows,
        "db": "sqlite",
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
        "pages": measure(app, client, counter, args.repeat),
    }
    RESULTS.mkdir(exist_ok=True)
    everything = json.loads(OUT.read_text()) if OUT.exists() else {}
    everything[args.label] = result
    OUT.write_text(json.dumps(everything, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"written to {OUT} under {args.label!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
