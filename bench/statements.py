"""Statement-run benchmark (issue 4): the monthly statements of account with 1, 2, 4 workers.

    .venv/bin/python -m bench.statements --customers 10000 --workers 1,2,4
    .venv/bin/python -m bench.statements --db postgres          # database 'qq_bench_st'
    .venv/bin/python -m bench.statements --customers 300 --rss-sizes 100,300   # a quick check

Builds a ledger of N customers with three open documents each, then measures:

- ``one_statement_s``: the median time of one statement's render + store + insert, in-process,
  and ``bare_render_s``: a bare ``pisa.CreatePDF`` of the same HTML and font, timed in turn
  with it (``statement_vs_bare_render``, target ≤ 1.2);
- ``runs``: for each worker count W, on a fresh period, the wall time of the whole statement run
  by W real worker processes (``flask --app app worker --burst``), from their start to the last
  one's exit; and ``ratio`` = run time / (N × one / W) (target ≤ 1.3). ``ratio_per_core``
  divides by min(W, cores) instead: on 2 cores, 4 workers cannot beat N × one / 2;
- ``rss_<n>_mb``: one worker in burst mode over the first n customers (default 1,000 then
  10,000), sampling VmRSS of the worker and of its work horses from /proc: the peak and the
  worker's last reading (target: 10,000 ≤ 1,000 + 20 MB).

The statement jobs are enqueued exactly as ``jobs.monthly.run_period`` enqueues them (same
chunks, same job ids); the unit reports and forms are left out (a few per run, not per customer).
Writes bench/results/statements-<db>.json. Needs Redis: REDIS_URL, else the embedded one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("BENCH_ST_VAR", "/tmp/qq-bench-st-var"))


def _database_url(kind: str) -> str:
    if kind == "sqlite":
        path = Path(os.environ.get("BENCH_ST_SQLITE", "/tmp/qq-bench-st.db"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    base = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
    name = os.environ.get("BENCH_ST_DB", "qq_bench_st")
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
    return f"{base}/{name}"


def build_ledger(n: int) -> None:
    """N customers in 4 units, each with one overdue and two not-yet-due open documents."""
    from decimal import Decimal

    from sqlalchemy import insert, select

    from backoffice.extensions import db
    from backoffice.models import Company, Customer, Receivable, SalesUnit
    from backoffice.services.calendar import load_year

    load_year(db.session, 2026)
    company = Company(code="BENCH", name="清欠基准测试有限公司")
    db.session.add(company)
    db.session.flush()
    units = [
        SalesUnit(company_id=company.id, code=f"U{i}", name=f"第{i}事业部") for i in range(1, 5)
    ]
    db.session.add_all(units)
    db.session.commit()
    unit_ids = [u.id for u in units]
    db.session.execute(
        insert(Customer),
        [
            {
                "company_id": company.id,
                "sales_unit_id": unit_ids[i % 4],
                "erp_code": f"K{i:06d}",
                "name": f"华东宏达机械有限公司{i:05d}",
            }
            for i in range(n)
        ],
    )
    rows = db.session.execute(select(Customer.id, Customer.sales_unit_id).order_by(Customer.id))
    docs = []
    for cid, uid in rows:
        for k, due in enumerate((date(2025, 12, 31), date(2026, 12, 31), date(2027, 3, 31))):
            amount = Decimal(100_000 + (cid * 3_701 + k * 91_177) % 9_000_000) / 100
            docs.append(
                {
                    "company_id": company.id,
                    "sales_unit_id": uid,
                    "customer_id": cid,
                    "doc_no": f"INV{cid:06d}-{k}",
                    "amount": amount,
                    "outstanding": amount,
                    "due_date": due,
                }
            )
    for i in range(0, len(docs), 5000):
        db.session.execute(insert(Receivable), docs[i : i + 5000])
    db.session.commit()


def one_statement_s(period: str, samples: int) -> tuple[float, float]:
    """Median seconds of one statement (query, render, store, insert), over ``samples``
    customers, and of a bare xhtml2pdf render of the same HTML with the same (registered) font,
    taken in turn with it (issue 13: the statement ≤ 1.2 × the bare render)."""
    import io

    from xhtml2pdf import pisa

    from backoffice.extensions import db
    from backoffice.services import monthly, pdf

    p = monthly.plan(db.session, period)
    ids = monthly.statement_customer_ids(db.session, p.as_of)[: samples + 1]
    seen: list[str] = []
    real = pdf.render_html_to_pdf

    def keep(html: str) -> bytes:
        seen.append(html)
        return real(html)

    pdf.render_html_to_pdf = keep
    try:
        monthly.build_statements(db.session, p, ids[:1])  # warm-up: fonts, templates
        times, bare = [], []
        for cid in ids[1:]:
            start = time.perf_counter()
            assert monthly.build_statements(db.session, p, [cid]) == 1
            times.append(time.perf_counter() - start)
            start = time.perf_counter()
            status = pisa.CreatePDF(seen[-1], dest=io.BytesIO(), encoding="utf-8",
                                    link_callback=pdf.resolve_resource)
            bare.append(time.perf_counter() - start)
            assert not status.err
    finally:
        pdf.render_html_to_pdf = real
    return statistics.median(times), statistics.median(bare)


def enqueue_statements(period: str, limit: int | None = None) -> int:
    """Enqueue the period's statement jobs as ``run_period`` does; returns the customer count."""
    from backoffice.extensions import db
    from backoffice.services import monthly
    from jobs import QUEUE_REPORTS, enqueue, make_job_id
    from jobs.monthly import STATEMENT_CHUNK, monthly_statements

    p = monthly.plan(db.session, period)
    ids = monthly.statement_customer_ids(db.session, p.as_of)[:limit]
    for i in range(0, len(ids), STATEMENT_CHUNK):
        chunk = ids[i : i + STATEMENT_CHUNK]
        enqueue(
            monthly_statements,
            period,
            chunk[0],
            chunk[-1],
            job_id=make_job_id("monthly-statements", period, chunk[0], chunk[-1]),
            queue=QUEUE_REPORTS,
        )
    return len(ids)


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def run_workers(env: dict, count: int, sample_rss: bool = False) -> dict:
    """Start ``count`` burst workers, wait for all; seconds, and RSS samples if asked."""
    start = time.perf_counter()
    logs = [(VAR_DIR / f"worker-{count}-{i}.log").open("w") for i in range(count)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "worker", "--burst"],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
        )
        for log in logs
    ]
    rss = {"worker_peak_mb": 0.0, "worker_last_mb": 0.0, "horse_peak_mb": 0.0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for proc in procs:
                worker = _rss_mb(proc.pid)
                if worker:
                    rss["worker_last_mb"] = worker
                    rss["worker_peak_mb"] = max(rss["worker_peak_mb"], worker)
                for child in _children(proc.pid):
                    horse = _rss_mb(child)
                    if horse:
                        rss["horse_peak_mb"] = max(rss["horse_peak_mb"], horse)
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    if sample_rss:
        sampler.start()
    for proc in procs:
        proc.wait()
    elapsed = time.perf_counter() - start
    done.set()
    for proc, log in zip(procs, logs, strict=True):
        log.close()
        if proc.returncode != 0:
            tail = Path(log.name).read_text()[-2000:]
            raise RuntimeError(f"worker failed ({proc.returncode}), see {log.name}: {tail}")
    out = {"seconds": elapsed}
    if sample_rss:
        sampler.join()
        out.update({k: round(v, 1) for k, v in rss.items()})
    return out


def failed_jobs() -> list[dict]:
    """Job runs that did not end ``finished``, with what they recorded (should be none)."""
    from sqlalchemy import select

    from backoffice.extensions import db
    from backoffice.models import JobRun
    from backoffice.models.job import JobStatus

    db.session.expire_all()
    runs = db.session.scalars(select(JobRun).where(JobRun.status != JobStatus.FINISHED))
    return [
        {
            "job": r.rq_job_id,
            "status": r.status.value,
            "attempts": r.attempts,
            "message": r.message,
            "error": (r.error or "")[-1500:],
        }
        for r in runs
    ]


def statement_count(period: str) -> int:
    from sqlalchemy import func, select

    from backoffice.extensions import db
    from backoffice.models import Statement

    db.session.expire_all()
    return db.session.scalar(
        select(func.count()).select_from(Statement).where(Statement.period == period)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument("--samples", type=int, default=20, help="statements timed one by one")
    parser.add_argument(
        "--rss-sizes", default="1000,10000", help="customers per RSS run (empty: skip)"
    )
    args = parser.parse_args(argv)
    worker_counts = [int(w) for w in args.workers.split(",") if w]
    rss_sizes = [int(n) for n in args.rss_sizes.split(",") if n]

    url = _database_url(args.db)
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # backoffice.config reads the environment when first imported: set it before any import.
    os.environ.update(DATABASE_URL=url, QQ_VAR_DIR=str(VAR_DIR))
    redis_proc = None
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        from backoffice.cli.processes import start_embedded_redis

        redis_proc, redis_url = start_embedded_redis(VAR_DIR / "redis")
    env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_url, QQ_VAR_DIR=str(VAR_DIR))
    env.pop("QQ_ENV", None)

    from redis import Redis
    from sqlalchemy import text

    from backoffice import create_app

    Redis.from_url(redis_url).flushdb()
    app = create_app()
    app.config["REDIS_URL"] = redis_url
    n = max([args.customers, *rss_sizes])
    results: dict = {
        "db": args.db,
        "customers": args.customers,
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
    }
    periods = iter(f"2026-{m:02d}" for m in range(2, 13))
    try:
        with app.app_context():
            from flask_migrate import upgrade

            from backoffice.extensions import db

            upgrade()
            if db.engine.dialect.name == "sqlite":
                with db.engine.begin() as conn:
                    conn.execute(text("PRAGMA journal_mode=WAL"))
            t0 = time.perf_counter()
            build_ledger(n)
            results["generate_s"] = round(time.perf_counter() - t0, 1)
            one, bare = one_statement_s(next(periods), args.samples)
            results["one_statement_s"] = round(one, 4)
            results["bare_render_s"] = round(bare, 4)
            results["statement_vs_bare_render"] = round(one / bare, 3)
            print(f"one statement: {one:.3f} s; bare xhtml2pdf render of its HTML: "
                  f"{bare:.3f} s; ratio {one / bare:.2f} (target <= 1.2)", flush=True)
            results["runs"], results["ratio"], results["ratio_per_core"] = {}, {}, {}
            cores = os.cpu_count() or 1
            for w in worker_counts:
                period = next(periods)
                count = enqueue_statements(period, args.customers)
                seconds = run_workers(env, w)["seconds"]
                assert statement_count(period) == count, (period, statement_count(period))
                results["runs"][w] = round(seconds, 2)
                results["ratio"][w] = round(seconds / (count * one / w), 3)
                # W workers on fewer than W cores can at best share the cores: the same ratio
                # against N × one / min(W, cores), printed beside it (not instead of it).
                results["ratio_per_core"][w] = round(seconds / (count * one / min(w, cores)), 3)
                print(f"{w} worker(s): {seconds:.1f} s, ratio {results['ratio'][w]}", flush=True)
            for size in rss_sizes:
                period = next(periods)
                count = enqueue_statements(period, size)
                rss = run_workers(env, 1, sample_rss=True)
                assert statement_count(period) == count
                results[f"rss_{size}_mb"] = rss
                print(f"RSS after {size}: {rss}", flush=True)
            if len(rss_sizes) >= 2:
                small, large = (results[f"rss_{s}_mb"] for s in rss_sizes[:2])
                results["rss_growth_mb"] = {
                    k: round(large[k] - small[k], 1)
                    for k in ("worker_peak_mb", "worker_last_mb", "horse_peak_mb")
                }
            results["failed_jobs"] = failed_jobs()
            db.engine.dispose()
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
    results["targets"] = {
        "ratio <= 1.3": {w: r <= 1.3 for w, r in results["ratio"].items()},
        "rss growth <= 20 MB": (
            max(results["rss_growth_mb"].values()) <= 20 if "rss_growth_mb" in results else None
        ),
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"statements-{args.db}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
