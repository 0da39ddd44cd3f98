"""Deep pages on PostgreSQL, measured closely (issue 13): page 1, the offset-80 % page by the
pager's next link (keyset) and by its number (from a remembered page start), at each size.

    .venv/bin/python -m bench.deep_pages --sizes 10000,1000000 --repeat 30

Runs over the databases ``bench.run --db postgres`` built (``qq_bench_<rows>``, not rebuilt).
``bench.run`` adds the server's CPU read in 10 ms clock ticks over a few requests, too coarse
for pages that differ by a few ms; here each page is requested ``--repeat`` times and reported
with its median wall and client CPU time, and each of its SQL statements is run once more under
``EXPLAIN (ANALYZE, BUFFERS)`` for the server's own execution time. Writes
``results/deep-pages-postgres.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from sqlalchemy import event

from bench import run as bench_run

RESULTS = bench_run.RESULTS


def measure(rows: int, repeat: int, redis_url: str) -> dict:
    from backoffice.extensions import db
    from tests import helpers

    base = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
    app = bench_run._bench_app(f"{base}/qq_bench_{rows}", redis_url)
    with app.app_context():
        username = helpers.make_user("finance", username=f"deep-{time.time_ns()}").username
    client = app.test_client()
    with app.app_context():
        client.post("/login", data={"username": username, "password": helpers.PASSWORD})
    deep = int(rows * 0.8) // bench_run.PAGE
    cursor = bench_run._seek_cursor(app, deep * bench_run.PAGE)
    urls = {
        "page1": "/admin/receivable/",
        "deep_seek": f"/admin/receivable/?page={deep}&after={cursor}",
        "deep": f"/admin/receivable/?page={deep}",
    }
    out: dict = {"rows": rows}
    for name, url in urls.items():
        for _ in range(3):  # warm: caches, the remembered page start
            bench_run._get(app, client, url)
        seen: list = []

        def keep(conn, cur, statement, params, context, many, seen=seen):
            seen.append((statement, params))

        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", keep)
            bench_run._get(app, client, url)
            event.remove(db.engine, "before_cursor_execute", keep)
            samples = [bench_run._get(app, client, url) for _ in range(repeat)]
            server_ms = 0.0
            with db.engine.connect() as conn:
                for statement, params in seen:
                    plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                    line = next(r[0] for r in plan if r[0].startswith("Execution Time"))
                    server_ms += float(line.split()[2])
        out[name] = {
            "wall_ms": round(statistics.median(s[0] for s in samples) * 1e3, 2),
            "cpu_ms": round(statistics.median(s[1] for s in samples) * 1e3, 2),
            "sql_execution_ms": round(server_ms, 2),
            "statements": len(seen),
        }
        print(rows, name, out[name], flush=True)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/5")
    results = {
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "repeat": args.repeat,
        "sizes": [measure(int(s), args.repeat, redis_url) for s in args.sizes.split(",")],
    }
    small, large = results["sizes"][0], results["sizes"][-1]
    results["large/small (wall)"] = {
        name: round(large[name]["wall_ms"] / small[name]["wall_ms"], 3)
        for name in ("page1", "deep_seek", "deep")
    }
    results["deep/page1 at large (wall)"] = {
        name: round(large[name]["wall_ms"] / large["page1"]["wall_ms"], 3)
        for name in ("deep_seek", "deep")
    }
    (RESULTS / "deep-pages-postgres.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if "/" in k}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
