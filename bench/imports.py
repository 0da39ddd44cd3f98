"""Import benchmark (issues 3 and 13): rows per second, time per row and peak memory.

    .venv/bin/python -m bench.imports                                 # 10k and 100k, SQLite
    .venv/bin/python -m bench.imports --sizes 10000,100000,1000000    # flat to 1M rows?
    .venv/bin/python -m bench.imports --db postgres --sizes 10000,100000
    .venv/bin/python -m bench.imports --sizes 2000,10000 --profile

The file is a GBK (GB18030) CSV of receivables as an ERP exports it: 11 columns, 5,000
customers the ledger does not know yet (the file names them), one sales unit. Each size runs in
its own process on a fresh database (SQLite: a file under /tmp; PostgreSQL: ``--pg-db`` on
``BENCH_PG_URL``, dropped and re-created), through the real ``import_file``, so the peak
resident memory reported (ru_maxrss) belongs to that import alone; ``import_rss_mb`` is the
peak minus the process's size just before the import. The audit chain is verified after each
run (``verify_chain`` and ``importer.verify_batch``). Writes bench/results/imports-<db>.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
HEADERS = [
    "公司",
    "客户编码",
    "客户名称",
    "单据编号",
    "单据类型",
    "应收金额",
    "币种",
    "开票日期",
    "到期日",
    "事业部",
    "业务员",
]


def write_file(path: Path, rows: int) -> None:
    start = date(2025, 1, 1)
    with open(path, "w", newline="", encoding="gb18030") as fh:
        out = csv.writer(fh)
        out.writerow(HEADERS)
        for i in range(rows):
            due = start + timedelta(days=i % 600)
            out.writerow(
                [
                    "BC1",
                    f"K{i % 5000:05d}",
                    f"华东客户{i % 5000:05d}有限公司",
                    f"ERP{i:08d}",
                    "货款",
                    f"{1000 + i % 997:,}.50",
                    "人民币",
                    (due - timedelta(days=60)).isoformat(),
                    due.strftime("%Y/%m/%d"),
                    "华东事业部",
                    "张伟",
                ]
            )


def database_url(db: str, rows: int, pg_db: str) -> str:
    if db == "sqlite":
        db_path = Path(f"/tmp/qq-bench-import-{rows}.db")
        db_path.unlink(missing_ok=True)
        return f"sqlite:///{db_path}"
    base = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
    for sql in (f"DROP DATABASE IF EXISTS {pg_db}", f"CREATE DATABASE {pg_db}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
    return f"{base}/{pg_db}"


def one(rows: int, profile: bool, db_kind: str = "sqlite", pg_db: str = "qq_bench_imp") -> dict:
    """Import a fresh ``rows``-row file into a fresh database; runs in a child process."""
    url = database_url(db_kind, rows, pg_db)
    os.environ["QQ_VAR_DIR"] = f"/tmp/qq-bench-import-var-{rows}"
    from backoffice import create_app
    from backoffice.config import TestConfig

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        TESTING = False
        IMPORT_MAX_BYTES = 1 << 30

    app = create_app(Config)
    with app.app_context():
        from flask_migrate import upgrade

        from backoffice.extensions import db
        from backoffice.models import Company, SalesUnit
        from backoffice.services.importer import import_file

        upgrade()
        company = Company(code="BC1", name="华锐重工集团")
        db.session.add(company)
        db.session.flush()
        db.session.add(SalesUnit(company_id=company.id, code="EAST", name="华东事业部"))
        db.session.commit()
        path = Path(f"/tmp/qq-bench-import-{rows}.csv")
        write_file(path, rows)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start, cpu_start = time.perf_counter(), time.process_time()
        if profile:
            import cProfile
            import pstats

            prof = cProfile.Profile(time.process_time)  # CPU: the machine may be shared
            batch = prof.runcall(import_file, db.session, path, "receivables")
            pstats.Stats(prof).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(
                40
            )
        else:
            batch = import_file(db.session, path, "receivables")
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert batch.rows_created == rows, (batch.status, batch.rows_error)
        from backoffice.services.audit import verify_chain
        from backoffice.services.importer import verify_batch

        problems = [p.reason for p in verify_chain(db.session)] + verify_batch(db.session, batch.id)
        assert not problems, problems[:5]
        written = write_floor(batch.id, min(rows, 100_000))  # first: floor() drops triggers
        bare = floor(path, min(rows, 100_000))
        bare["write_rows_per_s"] = written
        load = os.getloadavg()[0]
        return {
            "db": db_kind,
            "rows": rows,
            "seconds": round(seconds, 2),
            "rows_per_s": round(rows / seconds),
            "cpu_seconds": round(cpu, 2),
            "rows_per_cpu_s": round(rows / cpu),
            "ms_per_row": round(1000 * seconds / rows, 4),
            "peak_rss_mb": round(peak / 1024, 1),
            "rss_before_mb": round(rss_before / 1024, 1),
            "import_rss_mb": round((peak - rss_before) / 1024, 1),
            "file_mb": round(path.stat().st_size / 1e6, 1),
            "audit_verified": True,
            "load_average_1min": round(load, 1),
            "floor": bare,
        }


def floor(path: Path, rows: int) -> dict:
    """What the machine does at best, measured right after the import in the same process:
    reading the same file with the csv module, and inserting the same number of receivables
    with the driver's own executemany (values already converted, no checks, no audit), into
    the same table with its indexes, then rolled back. Plus a CPU yardstick."""
    from backoffice.extensions import db

    start = time.perf_counter()
    with open(path, encoding="gb18030", newline="") as fh:
        n = sum(1 for _ in csv.reader(fh)) - 1
    parse = time.perf_counter() - start
    conn = db.session.connection()
    ids = conn.exec_driver_sql("SELECT min(id), min(customer_id), min(company_id) FROM receivable")
    _rid, customer, company = ids.first()
    cols = (
        "company_id, customer_id, doc_no, doc_type, amount, currency, issue_date, due_date, "
        "paid_amount, written_off_amount, outstanding, status, created_at, updated_at"
    )
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO receivable ({cols}) VALUES ({', '.join([mark] * 14)})"  # noqa: S608
    amount = 100050 if conn.dialect.name == "sqlite" else "1000.50"
    zero = 0 if conn.dialect.name == "sqlite" else "0"
    values = [(company, customer, f"FLOOR{i:08d}", "product", amount, "CNY", "2025-01-01",
               "2025-03-01", zero, zero, amount, "open", "2026-01-01 00:00:00",
               "2026-01-01 00:00:00") for i in range(rows)]  # fmt: skip
    start = time.perf_counter()
    for i in range(0, rows, 1000):
        conn.exec_driver_sql(sql, values[i : i + 1000])
    insert_s = time.perf_counter() - start
    db.session.rollback()
    # The same rows into a copy of the table's columns with no index and no trigger: what the
    # ledger's indexes (lists, searches, checks) and the trigram search triggers cost per row.
    conn = db.session.connection()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("CREATE TEMP TABLE floor_bare AS SELECT * FROM receivable WHERE 0")
    else:
        conn.exec_driver_sql("CREATE TEMP TABLE floor_bare (LIKE receivable INCLUDING DEFAULTS)")
    bare_sql = sql.replace("INSERT INTO receivable", "INSERT INTO floor_bare")
    start = time.perf_counter()
    for i in range(0, rows, 1000):
        conn.exec_driver_sql(bare_sql, values[i : i + 1000])
    bare_s = time.perf_counter() - start
    db.session.rollback()
    no_trigger = None
    conn = db.session.connection()
    if conn.dialect.name == "sqlite":
        # The same insert with the trigram search triggers (FTS5) dropped, to split the floor
        # between the indexes and the triggers. Last: SQLite may commit the DDL, and this
        # database is thrown away after the run.
        names = [r[0] for r in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'receivable'"
        )]  # fmt: skip
        for name in names:
            conn.exec_driver_sql(f"DROP TRIGGER {name}")
        start = time.perf_counter()
        for i in range(0, rows, 1000):
            conn.exec_driver_sql(sql, values[i : i + 1000])
        no_trigger = round(rows / (time.perf_counter() - start))
        db.session.rollback()
    indexes = db.session.connection().exec_driver_sql(
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'receivable'"
        if conn.dialect.name == "sqlite"
        else "SELECT count(*) FROM pg_indexes WHERE tablename = 'receivable'"
    ).scalar()
    start = time.process_time()
    sum(range(10**7))
    return {
        "csv_parse_rows_per_s": round(n / parse),
        "executemany_rows_per_s": round(rows / insert_s),
        "executemany_no_index_rows_per_s": round(rows / bare_s),
        "executemany_no_trigger_rows_per_s": no_trigger,  # SQLite: indexes, no FTS triggers
        "receivable_indexes": indexes,
        "cpu_yardstick_s": round(time.process_time() - start, 3),  # sum(range(10**7))
    }


def write_floor(batch_id: int, rows: int) -> int:
    """The importer's own rows, written again by its own bulk write and nothing else: the same
    values (customers, units, dates and amounts spread as in the file, new document numbers),
    the same chunks of ``CHUNK_SIZE`` and the same statements (``trail._executemany``: on
    SQLite one executemany and the per-chunk fill of the search index, on PostgreSQL one
    ``INSERT … SELECT unnest(…) RETURNING``). No parsing, no checks, no audit: what any
    importer of this file into this table pays at least. Rolled back."""
    from sqlalchemy import select

    from backoffice.extensions import db
    from backoffice.models import Receivable
    from backoffice.services import importer
    from backoffice.services.importer import trail

    table = Receivable.__table__
    names = ("company_id", "customer_id", "doc_no", "doc_type", "amount", "currency",
             "issue_date", "due_date", "paid_amount", "written_off_amount", "outstanding",
             "status", "collector_name", "sales_unit_id", "import_batch_id", "created_at",
             "updated_at")  # fmt: skip
    conn = db.session.connection()
    # Opens the transaction, as in an import (the search index is filled per chunk only then).
    conn.exec_driver_sql("DELETE FROM receivable WHERE 1 = 0")
    query = (
        select(*(table.c[n] for n in names))
        .where(table.c.import_batch_id == batch_id)
        .order_by(table.c.id)
        .limit(rows)
    )
    values = [dict(zip(names, r, strict=True)) for r in conn.execute(query)]
    for v in values:
        v["doc_no"] = "W" + v["doc_no"]
    size = importer.CHUNK_SIZE
    start = time.perf_counter()
    for i in range(0, len(values), size):
        chunk = values[i : i + size]
        by_column = {n: [v[n] for v in chunk] for n in names}
        trail._executemany(conn, table, by_column, ("company_id", "doc_no"), batch_id)
    seconds = time.perf_counter() - start
    db.session.rollback()
    return round(len(values) / seconds)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-db", default="qq_bench_imp", help="PostgreSQL database (dropped!)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(one(args.child, args.profile, args.db, args.pg_db)))
        return 0
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        cmd = [
            sys.executable,
            "-m",
            "bench.imports",
            "--child",
            str(size),
            "--db",
            args.db,
            "--pg-db",
            args.pg_db,
        ]
        if args.profile:
            cmd.append("--profile")
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            print(done.stderr[-3000:], file=sys.stderr)
            done.check_returncode()
        out = done.stdout
        if args.profile:
            print(out)
        results.append(json.loads(out.strip().splitlines()[-1]))
        print(results[-1])
    summary: dict = {"db": args.db, "runs": results}
    if len(results) >= 2:
        small, large = results[0], results[-1]
        summary["per_row_large_vs_small (<=1.2)"] = round(
            large["ms_per_row"] / small["ms_per_row"], 3
        )
        summary["peak_rss_growth_mb"] = round(large["peak_rss_mb"] - small["peak_rss_mb"], 1)
    target = {"sqlite": 30_000, "postgres": 20_000}[args.db]
    at_100k = [r for r in results if r["rows"] == 100_000]
    if at_100k:
        summary[f"rows_per_s_at_100k (>={target:,})"] = at_100k[0]["rows_per_s"]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"imports-{args.db}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
