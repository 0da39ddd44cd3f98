"""Realistic ERP export files, written by the tests: xlsx via openpyxl, GBK CSV, hostile xlsx.

The files mimic what a Chinese ERP exports: a title line above the headers, Chinese headers,
mixed date and amount formats, a totals line (合计) at the bottom.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl

RECEIVABLE_HEADERS = [
    "公司",
    "客户编码",
    "客户名称",
    "单据编号",
    "单据类型",
    "应收金额(元)",
    "币种",
    "开票日期",
    "约定付款日",
    "事业部",
    "业务员",
]

PAYMENT_HEADERS = ["公司", "收款单号", "客户编码", "收款金额", "收款日期", "对应单据", "类型"]


def write_xlsx(path: Path, headers: list, rows: list[list], title: str | None = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    ws.append(headers)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def write_csv(path: Path, headers: list, rows: list[list], encoding: str = "gbk") -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def receivable_rows(company: str, unit: str) -> list[list]:
    """Good rows in every supported format (line numbers 2.. once written with a header)."""
    return [
        [company, "K001", "华东机械有限公司", "INV-001", "货款", "1,234.50", "人民币",
         "2026-01-05", "2026-03-01", unit, "张三"],
        [company, "K001", "华东机械有限公司", "INV-002", "工程款", "￥2,000.00", "",
         "2026/1/6", "2026/3/1", unit, "李四"],
        [company, "K002", "华南电气股份公司", "INV-003", "代垫运费", "1234.5元", "CNY",
         "2026年1月7日", "2026年3月1日", unit, ""],
        [company, "K002", "华南电气股份公司", "INV-004", "", "１２３４．５０", "",
         "20260108", "20260301", unit, "王五"],
    ]  # fmt: skip


def hostile_zip_bomb(path: Path, inflated_mb: int = 300) -> Path:
    """An .xlsx whose sheet1.xml is hundreds of MB of whitespace: compresses ~1000:1."""
    good = path.with_suffix(".good.xlsx")
    write_xlsx(good, ["客户名称", "单据编号"], [["甲", "X1"]])
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename == "xl/worksheets/sheet1.xml":
                with dst.open(item.filename, "w", force_zip64=True) as out:
                    head = src.read(item.filename)
                    out.write(head[: head.index(b"<sheetData>")])
                    block = b" " * (1 << 20)
                    for _ in range(inflated_mb):
                        out.write(block)
                    out.write(head[head.index(b"<sheetData>") :])
            else:
                dst.writestr(item, src.read(item.filename))
    good.unlink()
    return path


def hostile_billion_laughs(path: Path) -> Path:
    """An .xlsx whose sheet1.xml declares nested entities ("billion laughs")."""
    good = path.with_suffix(".good.xlsx")
    write_xlsx(
        good,
        ["客户名称", "单据编号", "应收金额", "到期日"],
        [["甲", "X1", 1, datetime(2026, 1, 1)]],
    )
    lol = [b'<!ENTITY lol "lol">']
    for i in range(1, 10):
        prev = b"&lol;" if i == 1 else b"&lol%d;" % (i - 1)
        lol.append(b'<!ENTITY lol%d "%s">' % (i, prev * 10))
    dtd = b"<!DOCTYPE worksheet [" + b"".join(lol) + b"]>"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                decl_end = data.index(b"?>") + 2 if b"?>" in data else 0
                data = data[:decl_end] + dtd + data[decl_end:]
                data = data.replace(b"<v>1</v>", b"<v>&lol9;</v>", 1)
            dst.writestr(item, data)
    good.unlink()
    return path
