"""PDF rendering (STYLE 9): Jinja templates under templates/pdf/, xhtml2pdf with a strict
resource policy (nothing remote; only files inside our own static/ folder), an embedded
TrueType CJK font, and no silent failure: a render with errors raises ``PdfError``.

The font is registered with ReportLab once per process (``register_font``) under the family
name ``QQCJK`` that templates/pdf/base.html names in CSS. Declaring it with ``@font-face``
instead made xhtml2pdf re-read and md5-hash the 5 MB file on every render. ReportLab still
embeds (a subset of) it in every PDF.
"""

from __future__ import annotations

import functools
import io
import logging
from typing import Any

from flask import render_template
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from xhtml2pdf import pisa
from xhtml2pdf.default import DEFAULT_FONT

from backoffice.config import BASE_DIR
from backoffice.models.base import utcnow
from backoffice.services import pdf_cjk
from backoffice.services.formatting import SHANGHAI

STATIC_DIR = (BASE_DIR / "static").resolve()
CJK_FONT = STATIC_DIR / "fonts" / "wqy-microhei.ttc"
FONT_FAMILY = "QQCJK"  # the name templates/pdf/base.html uses in font-family


class PdfError(RuntimeError):
    """A PDF could not be rendered; the job that asked for it must fail."""


def resolve_resource(uri: str, rel: str | None = None) -> str:
    """xhtml2pdf's link callback: our own static files only, never the network or elsewhere."""
    if "://" in uri or uri.startswith(("//", "data:", "file:")):
        raise PdfError(f"resource refused (not one of our own assets): {uri[:100]}")
    relative = uri.split("?", 1)[0].removeprefix("/static/").lstrip("/")
    path = (STATIC_DIR / relative).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file():
        raise PdfError(f"resource refused (outside static/ or missing): {uri[:100]}")
    return str(path)


class _ErrorCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@functools.cache
def register_font() -> str:
    """Register the CJK TrueType font with ReportLab and xhtml2pdf, once per process.

    Bold and italic map to the same face (the font has no bold; xhtml2pdf would otherwise
    fall back to Helvetica for <b>). Returns the family name to use in CSS.
    """
    pdfmetrics.registerFont(TTFont(FONT_FAMILY, str(CJK_FONT), subfontIndex=0))
    for bold in (0, 1):
        for italic in (0, 1):
            addMapping(FONT_FAMILY, bold, italic, FONT_FAMILY)
    # xhtml2pdf copies DEFAULT_FONT into every document's font table: this is how a CSS
    # font-family finds a font registered outside the document.
    DEFAULT_FONT[FONT_FAMILY.lower()] = FONT_FAMILY
    return FONT_FAMILY


def render_html_to_pdf(html: str) -> bytes:
    """Render ``html`` with xhtml2pdf into PDF bytes; any error or warning raises PdfError."""
    register_font()
    pdf_cjk.install()
    collector = _ErrorCollector()
    logger = logging.getLogger("xhtml2pdf")
    logger.addHandler(collector)
    try:
        out = io.BytesIO()
        status = pisa.CreatePDF(html, dest=out, link_callback=resolve_resource,
                                encoding="utf-8")
    except PdfError:
        raise
    except Exception as exc:  # xhtml2pdf raises assorted errors on bad markup
        raise PdfError(f"PDF rendering failed: {exc}") from exc
    finally:
        logger.removeHandler(collector)
    if status.err:
        detail = "; ".join(collector.messages[-3:]) or f"{status.err} error(s)"
        raise PdfError(f"PDF rendering failed: {detail}")
    data = out.getvalue()
    if not data.startswith(b"%PDF"):
        raise PdfError("PDF rendering produced no PDF")
    return data


def render_pdf(template: str, **context: Any) -> bytes:
    """Render ``templates/pdf/<template>`` with the app's Jinja into PDF bytes."""
    context.setdefault("generated_at", utcnow().astimezone(SHANGHAI))
    html = render_template(f"pdf/{template}", **context)
    return render_html_to_pdf(html)


def warm_up() -> None:
    """Register the CJK font and render a tiny document with it once, so later renders in this
    process (and in processes forked from it) skip loading the font and xhtml2pdf's
    machinery."""
    render_html_to_pdf(
        f"<html><head><style>body {{ font-family: {register_font()}; }}</style></head>"
        "<body>清欠 0123456789</body></html>"
    )
