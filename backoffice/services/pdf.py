"""PDF rendering (STYLE 9): Jinja templates under templates/pdf/, xhtml2pdf with a strict
resource policy (nothing remote; only files inside our own static/ folder), an embedded
TrueType CJK font, and no silent failure: a render with errors raises ``PdfError``.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

from flask import render_template
from xhtml2pdf import pisa

from backoffice.config import BASE_DIR
from backoffice.models.base import utcnow
from backoffice.services.formatting import SHANGHAI

STATIC_DIR = (BASE_DIR / "static").resolve()
CJK_FONT = STATIC_DIR / "fonts" / "wqy-microhei.ttc"


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


def render_html_to_pdf(html: str) -> bytes:
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
    html = render_template(f"pdf/{template}", font_path=Path(CJK_FONT).as_posix(), **context)
    return render_html_to_pdf(html)


def warm_up() -> None:
    """Render a tiny document with the CJK font once, so later renders in this process (and in
    processes forked from it) skip loading the font and xhtml2pdf's machinery."""
    render_html_to_pdf(
        '<html><head><style>@font-face { font-family: "QQCJK"; '
        'src: url("fonts/wqy-microhei.ttc"); } body { font-family: QQCJK; }</style></head>'
        "<body>清欠 0123456789</body></html>"
    )
