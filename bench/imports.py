"""Import benchmark (issue 3): time per row and peak memory at 10k vs 100k rows.

    .venv/bin/python -m bench.imports                 # 10k and 100k rows, SQLite
    .venv/bin/python -m bench.imports --sizes 2000,10000 --profile

Each size runs in its own process (fresh SQLite database, real ``import_file``), so the peak
resident memory reported (ru_maxrss) belongs to that import alone. Writes
bench/results/imports-sqlite.json.
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
HEADERS = ["公司", "客户编码", "客户名称", "单据编号", "单据类型", "应收金额", "币种", "开票日期",
           "到期日", "事业部", "业务员"]


def write_file(path: Path, rows: int) -> None:
    start = date(2025, 1, 1)
    with open(path, "w", newline="", encoding="gb18030") as fh:
        out = csv.writer(fh)
        out.writerow(HEADERS)
        for i in range(rows):
            due = start + timedelta(days=i % 600)
            out.writerow(["BC1", f"K{i % 5000:05d}", f"华东客户{i % 5000:05d}有限公司",
                          f"ERP{i:08d}", "货款", f"{1000 + i % 997:,}.50", "人民币",
                          (due - timedelta(days=60)).isoformat(), due.strftime("%Y/%m/%d"),
                          "华东事业部", "张伟"])


def one(rows: int, profile: bool) -> dict:
    """Import a fresh ``rows``-row file into a fresh database; runs in a child process."""
    db_path = Path(f"/tmp/qq-bench-import-{rows}.db")
    db_path.unlink(missing_ok=True)
    os.environ["QQ_VAR_DIR"] = f"/tmp/qq-bench-import-var-{rows}"
    from backoffice import create_app
    from backoffice.config import TestConfig

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{db_path}"
        TESTING = False

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
        start = time.perf_counter()
        if profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            batch = prof.runcall(import_file, db.session, path, "receivables")
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        else:
            batch = import_file(db.session, path, "receivables")
        seconds = time.perf_counter() - start
        assert batch.rows_created == rows, (batch.status, batch.rows_error)
        return {"rows": rows, "seconds": round(seconds, 2),
                "ms_per_row": round(1000 * seconds / rows, 3),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "rss_before_mb": round(rss_before / 1024, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(one(args.child, args.profile)))
        return 0
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        cmd = [sys.executable, "-m", "bench.imports", "--child", str(size)]
        if args.profile:
            cmd.append("--profile")
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        if args.profile:
            print(out)
        results.append(json.loads(out.strip().splitlines()[-1]))
        print(results[-1])
    summary = {"runs": results}
    if len(results) >= 2:
        small, large = results[0], results[-1]
        summary["per_row_large_vs_small (<=1.2)"] = round(
            large["ms_per_row"] / small["ms_per_row"], 3)
        summary["peak_rss_growth_mb"] = round(large["peak_rss_mb"] - small["peak_rss_mb"], 1)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "imports-sqlite.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
