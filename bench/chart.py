"""The cost curve (issue 13): how each list and dashboard figure grows from 10k to 1M rows.

    .venv/bin/pip install -e '.[bench]'          # matplotlib, pinned
    .venv/bin/python -m bench.chart              # reads results/ledger-{sqlite,postgres}.json
    .venv/bin/python -m bench.chart --dbs sqlite-1m,postgres   # the 10k and 1M SQLite run

Prints a Markdown table per database (each figure at each size, project and stock, and the
largest size over the smallest) and draws ``results/cost-curve.png``: one panel per database,
time per request against ledger size on log-log axes, the project's figures as solid lines and
stock Flask-Admin's as dashed ones. Times are the run's basis: CPU time on SQLite (the database
works in the benchmark's process), wall time on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
FIGURES = {
    "page1": "page 1",
    "page1000": "page 1,000",
    "deep": "offset 80 % (page number)",
    "deep_seek": "offset 80 % (next link, keyset)",
    "deep_first": "offset 80 % (page number, first visit)",
    "search_doc": "search: part of a doc number",
    "search_name": "search: part of a customer name",
    "dashboard_cold": "dashboard after a write",
    "dashboard_recompute": "dashboard refresh (background)",
}
STOCK = ("page1", "page1000", "deep", "search_doc", "search_name")


def _value(size: dict, name: str, basis: str) -> float | None:
    key = f"{name}_cpu_s" if basis == "cpu" and f"{name}_cpu_s" in size else f"{name}_s"
    return size.get(key)


def table(results: dict) -> str:
    basis = results.get("basis", "wall")
    sizes = results["sizes"]
    head = " | ".join(f"{s['rows']:,}" for s in sizes)
    lines = [
        f"| figure ({basis} ms) | {head} | largest / smallest |",
        "|---|" + "---|" * (len(sizes) + 1),
    ]
    for name, label in FIGURES.items():
        for who, key in (("project", name), ("stock", f"stock_{name}")):
            if who == "stock" and name not in STOCK:
                continue
            values = [_value(s, key, basis) for s in sizes]
            if any(v is None for v in values):
                continue
            cells = " | ".join(f"{v * 1e3:.1f}" for v in values)
            lines.append(f"| {label} ({who}) | {cells} | {values[-1] / values[0]:.2f} |")
    return "\n".join(lines)


def chart(runs: dict[str, dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(6.5 * len(runs), 5), squeeze=False)
    for ax, (db, results) in zip(axes[0], runs.items(), strict=True):
        basis = results.get("basis", "wall")
        rows = [s["rows"] for s in results["sizes"]]
        for i, (name, label) in enumerate(FIGURES.items()):
            color = f"C{i}"
            values = [_value(s, name, basis) for s in results["sizes"]]
            if all(v is not None for v in values):
                ax.plot(rows, [v * 1e3 for v in values], "o-", color=color, label=label)
            if name in STOCK:
                stock = [_value(s, f"stock_{name}", basis) for s in results["sizes"]]
                if all(v is not None for v in stock):
                    ax.plot(rows, [v * 1e3 for v in stock], "x--", color=color, alpha=0.6)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("receivables")
        ax.set_ylabel(f"ms per request ({basis} time)")
        ax.set_title(f"{db}: project (solid) vs stock Flask-Admin (dashed)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dbs", default="sqlite,postgres")
    parser.add_argument("--out", default=str(RESULTS / "cost-curve.png"))
    args = parser.parse_args(argv)
    runs = {}
    for db in args.dbs.split(","):
        path = RESULTS / f"ledger-{db}.json"
        if path.exists():
            runs[db] = json.loads(path.read_text())
            print(f"### {db}\n\n{table(runs[db])}\n")
    if not runs:
        print("no results/ledger-*.json yet: run bench.run first", file=sys.stderr)
        return 1
    chart(runs, Path(args.out))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
