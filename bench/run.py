"""Ledger benchmark (issue 3): list, paging, search and dashboard at 10k vs 1M receivables.

    .venv/bin/python -m bench.run --db sqlite            # SQLite file under /tmp
    .venv/bin/python -m bench.run --db postgres          # database 'qq_bench' on 127.0.0.1
    .venv/bin/python -m bench.run --db sqlite --rows 200000   # a quicker run

Writes bench/results/<db>.json and prints a table. Times are medians of repeated requests
through the real Flask app (test client, logged in as finance); ratios are from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import event, text

RESULTS = Path(__file__).resolve().parent / "results"


def _database_url(kind: str) -> str:
    if kind == "sqlite":
        path = Path("/tmp/qq-bench.db")
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    base = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                    "DROP DATABASE IF EXISTS qq_bench"], check=True)
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                    "CREATE DATABASE qq_bench"], check=True)
    return f"{base}/qq_bench"


class Counter:
    def __init__(self, engine):
        self.n = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *args, **kwargs):
        self.n += 1


def timed(client, url: str, repeat: int = 7) -> tuple[float, int]:
    """Median seconds for GET url (after one warm-up), and its status code."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
    return statistics.median(times), response.status_code


def measure(client, counter, rows: int) -> dict:
    out = {"rows": rows}
    out["list_page1_s"], _ = timed(client, "/admin/receivable/")
    if rows >= 20_000:
        out["list_page1000_s"], _ = timed(client, "/admin/receivable/?page=999")
    out["search_doc_s"], _ = timed(client, f"/admin/receivable/?search=INV{rows // 2:08d}")
    out["search_customer_prefix_s"], _ = timed(client, "/admin/receivable/?search=华达机械")
    out["dashboard_s"], _ = timed(client, "/admin/")
    for size in (20, 100):
        counter.n = 0
        client.get(f"/admin/receivable/?page_size={size}")
        out[f"statements_page_size_{size}"] = counter.n
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=50_000)
    args = parser.parse_args(argv)

    url = _database_url(args.db)
    os.environ["QQ_VAR_DIR"] = "/tmp/qq-bench-var"
    from backoffice import create_app
    from backoffice.config import TestConfig
    from bench import generate

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        WTF_CSRF_ENABLED = False
        TESTING = False

    app = create_app(BenchConfig)
    results: dict = {"db": args.db, "python": platform.python_version(),
                     "machine": f"{platform.machine()} {os.cpu_count()} cpu"}
    with app.app_context():
        from flask_migrate import upgrade

        from backoffice.extensions import db
        from tests import helpers

        upgrade()
        if db.engine.dialect.name == "sqlite":
            with db.engine.begin() as conn:
                conn.execute(text("PRAGMA journal_mode=WAL"))
        t0 = time.perf_counter()
        generate.add_customers(args.customers)
        generate.add_receivables(args.small)
        results["generate_small_s"] = round(time.perf_counter() - t0, 1)
        user = helpers.make_user("finance", username="bench-finance")
        client = app.test_client()
        response = client.post("/login", data={"username": user.username,
                                               "password": helpers.PASSWORD})
        assert response.status_code == 302, response.status_code
        counter = Counter(db.engine)
        _analyze(db)
        results["small"] = measure(client, counter, args.small)
        t0 = time.perf_counter()
        generate.add_receivables(args.rows)
        results["generate_large_s"] = round(time.perf_counter() - t0, 1)
        _analyze(db)
        results["large"] = measure(client, counter, args.rows)
    small, large = results["small"], results["large"]
    results["ratios"] = {
        "list_page1_large_vs_small (<=2)": large["list_page1_s"] / small["list_page1_s"],
        "page1000_vs_page1 (<=3)": large["list_page1000_s"] / large["list_page1_s"],
        "search_doc_vs_page1 (<=3)": large["search_doc_s"] / large["list_page1_s"],
        "search_customer_vs_page1 (<=3)": large["search_customer_prefix_s"]
        / large["list_page1_s"],
        "dashboard_large_vs_small (<=2)": large["dashboard_s"] / small["dashboard_s"],
        "statements_100_vs_20 (==1)": large["statements_page_size_100"]
        / large["statements_page_size_20"],
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"ledger-{args.db}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"written to {out}")
    return 0


def _analyze(db) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))


if __name__ == "__main__":
    sys.exit(main())
