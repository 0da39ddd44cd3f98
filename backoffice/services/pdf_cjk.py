"""Fixes to xhtml2pdf's CJK line breaking, which every PDF relies on (templates/pdf/base.html
sets ``word-break: break-all`` so that Chinese text wraps inside the margins and cells).

A CJK-wrapped paragraph that meets a page break is split in two. xhtml2pdf 0.2.x gets that
wrong in two ways, both of which abort the whole render:

- a paragraph of several runs (text with a <b> or <br> in it) is split by re-joining its lines
  with a space at each line end, as if they were words. Chinese has no spaces to restore: the
  added ones shift every re-wrapped line, the first part no longer fits the room it was cut
  for, and ReportLab raises "Splitting error";
- a paragraph of a single run goes through a different path whose first part is drawn with
  ``b" ".join`` over ``str`` lines, and raises ``TypeError``.

And its CJK line breaker (``cjkFragSplit``) ignores <br>, and after hanging a closing mark in
the margin it counts that mark again on the next line (one character short, and an empty last
line when the mark ends the paragraph, which also breaks splitting).

``install`` (idempotent) wraps every CJK paragraph with ``cjk_lines`` below and splits its
lines as they are. Latin text (``wordWrap`` not CJK) keeps xhtml2pdf's own behaviour.
"""

from __future__ import annotations

from typing import Any

from reportlab.lib.textsplit import ALL_CANNOT_START
from xhtml2pdf import reportlab_paragraph as rp

# Marks a line may not start with. ReportLab's list is Japanese: it lacks the full-width
# comma, semicolon, colon, question and exclamation marks and closing quotes Chinese uses.
CANNOT_START = ALL_CANNOT_START + "，；：？！》〉】』”’,.;:?!)]}"

_original_split_function = rp.Paragraph._get_split_blParaFunc
_original_break_lines_cjk = rp.Paragraph.breakLinesCJK


def cjk_lines(frags: list, max_widths: list, calc_bounds: bool, encoding: str = "utf8") -> Any:
    """Break runs of text into lines at any character, honouring <br>; a closing mark that
    may not start a line hangs in the right margin (one character, as Chinese typesetting
    does)."""
    glyphs = []
    for frag in frags:
        text = frag.text.decode(encoding) if isinstance(frag.text, bytes) else frag.text
        if text:
            glyphs.extend(rp.cjkU(t, frag, encoding) for t in text)
        else:  # an empty run still carries its <br> or inline box
            glyphs.append(rp.cjkU(text, frag, encoding))

    lines: list = []

    def width() -> float:
        return max_widths[min(len(lines), len(max_widths) - 1)]

    start, used, i = 0, 0.0, 0
    while i < len(glyphs):
        glyph = glyphs[i]
        if hasattr(glyph.frag, "lineBreak"):
            lines.append(rp.makeCJKParaLine(glyphs[start : i + 1], width() - used, calc_bounds))
            start, used, i = i + 1, 0.0, i + 1
            continue
        if used + glyph.width > width() + rp._FUZZ and i > start:
            end, extra = i, width() - used
            if glyph and glyph in CANNOT_START:
                end, extra = i + 1, extra - glyph.width
            lines.append(rp.makeCJKParaLine(glyphs[start:end], extra, calc_bounds))
            start, used, i = end, 0.0, end
            continue
        used += glyph.width
        i += 1
    if start < len(glyphs):
        lines.append(rp.makeCJKParaLine(glyphs[start:], width() - used, calc_bounds))
    return rp.ParaLines(kind=1, lines=lines)


def _split_lines_as_they_are(bl_para: Any, start: int, stop: int) -> list:
    """The runs of CJK-wrapped lines ``start`` to ``stop``, with nothing added between lines."""
    return [word for line in bl_para.lines[start:stop] for word in line.words]


def _split_function(paragraph: Any) -> Any:
    if paragraph.blPara.kind == 1 and getattr(paragraph.style, "wordWrap", None) == "CJK":
        return _split_lines_as_they_are
    return _original_split_function(paragraph)


def _break_lines_cjk(paragraph: Any, width: Any) -> Any:
    if not paragraph.frags:
        return _original_break_lines_cjk(paragraph, width)
    max_widths = width if isinstance(width, list | tuple) else [width]
    rp._handleBulletWidth(
        paragraph.bulletText, paragraph.style, max_widths, rtl=paragraph.dir == "rtl"
    )
    leading = getattr(paragraph, "autoLeading", getattr(paragraph.style, "autoLeading", ""))
    return cjk_lines(paragraph.frags, max_widths, leading not in {"", "off"}, paragraph.encoding)


def install() -> None:
    """Patch xhtml2pdf's paragraph class (once per process; later calls do nothing)."""
    rp.Paragraph._get_split_blParaFunc = _split_function
    rp.Paragraph.breakLinesCJK = _break_lines_cjk
