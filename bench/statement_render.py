"""Rendering one customer statement (对账单) to PDF: what the font registration and dropping
``<pdf:pagecount>`` save (issue 13).

    .venv/bin/python -m bench.statement_render [--samples 40] [--lines 12]

Renders the real ``templates/pdf/statement.html`` through ``backoffice.services.pdf`` (the
app's Jinja, xhtml2pdf, the CJK font) with a statement of ``--lines`` documents, and takes the
median (wall and CPU time) of ``--samples`` renders for three variants of the same HTML:

- ``before``: the font declared with ``@font-face`` (xhtml2pdf re-reads and md5-hashes the
  5 MB file on every render) and "第 x 页 / 共 y 页" (``<pdf:pagecount>``: two layout passes);
- ``font_registered``: the font registered once with ReportLab, still with the page total;
- ``after``: what the product does now: registered font, no page total.

Rendering only: no database query, storage or insert. Writes ``results/statement-render.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace as NS

RESULTS = Path(__file__).resolve().parent / "results"
FONT_FACE = '@font-face { font-family: "QQCJKFACE"; src: url("fonts/wqy-microhei.ttc"); }\n'


def _variants(html: str) -> dict[str, str]:
    with_total = html.replace(" 页 · 生成时间", " 页 / 共 <pdf:pagecount> 页 · 生成时间", 1)
    assert with_total != html, "the footer changed: update this benchmark"
    before = with_total.replace("<style>", "<style>\n" + FONT_FACE, 1).replace(
        'font-family: "QQCJK"', 'font-family: "QQCJKFACE"'
    )
    return {"before": before, "font_registered": with_total, "after": html}


def _measure(render, variants: dict[str, str], samples: int) -> dict[str, dict[str, float]]:
    """Median wall and CPU milliseconds per variant. The variants take turns, so a busy
    machine slows them alike; CPU time (this process only) is the steadier figure there."""
    for html in variants.values():
        render(html)  # warm: the first render registers fonts, imports xhtml2pdf's machinery
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(samples):
        for name, html in variants.items():
            w, c = time.perf_counter(), time.process_time()
            render(html)
            cpu[name].append((time.process_time() - c) * 1000)
            wall[name].append((time.perf_counter() - w) * 1000)
    return {
        name: {
            "wall_ms": round(statistics.median(wall[name]), 1),
            "cpu_ms": round(statistics.median(cpu[name]), 1),
        }
        for name in variants
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--lines", type=int, default=12)
    args = parser.parse_args(argv)

    var = Path(tempfile.mkdtemp(prefix="qq_bench_render_"))
    os.environ.update(DATABASE_URL=f"sqlite:///{var}/bench.db", QQ_VAR_DIR=str(var))
    os.environ.pop("QQ_ENV", None)
    from flask import render_template

    from backoffice import create_app
    from backoffice.services.monthly import Plan
    from backoffice.services.pdf import render_html_to_pdf
    from backoffice.services.pdf import warm_up as pdf_warm_up

    app = create_app()
    company = NS(name="华东重型机械装备制造集团股份有限公司", address="上海市浦东新区科苑路 88 号",
                 phone="021-12345678", bank_account="中国工商银行上海浦东支行 1001 2345 6789")
    customer = NS(name="上海宏达机械有限公司", erp_code="C-000123")
    plan = Plan("2026-11", date(2026, 10, 31), date(2026, 11, 3), date(2026, 11, 4),
                date(2026, 11, 11))
    lines = [
        {"r": NS(doc_no=f"INV-2026-{i:06d}", issue_date=date(2026, 5, 1),
                 due_date=date(2026, 8, 31), amount=Decimal("12345.60")),
         "outstanding": Decimal("12345.60"), "overdue_days": 61}
        for i in range(args.lines)
    ]
    total = sum((x["outstanding"] for x in lines), Decimal(0))
    with app.app_context():
        pdf_warm_up()
        html = render_template("pdf/statement.html", company=company, customer=customer,
                               plan=plan, lines=lines, total=total, overdue=total,
                               generated_at=app.config.get("BENCH_NOW") or _now())
        results: dict = {
            "python": platform.python_version(),
            "machine": f"{platform.machine()} {os.cpu_count()} cpu",
            "samples": args.samples,
            "statement_lines": args.lines,
            "load_average": os.getloadavg()[0],
            "median": _measure(render_html_to_pdf, _variants(html), args.samples),
        }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "statement-render.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


def _now():
    from backoffice.models.base import utcnow

    return utcnow()


if __name__ == "__main__":
    raise SystemExit(main())
