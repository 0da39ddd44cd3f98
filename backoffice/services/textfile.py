"""Is an uploaded CSV readable text, and does a cell fit its column? Refusals with reasons.

**Encodings** (``detect_encoding``, one or two streaming passes over the bytes):

* a UTF-16 byte-order mark (Excel's "Unicode text") → UTF-16, decoded strictly;
* a UTF-32 byte-order mark → refused;
* bytes that are valid UTF-8 (with or without BOM) → UTF-8;
* otherwise bytes that are valid GB18030 (a superset of GBK and GB2312) *and plausible* →
  GB18030; otherwise refused, naming the line of the first undecodable byte.

Plausibility (why a Shift-JIS file is not read as GBK): nearly every Shift-JIS byte pair is also
a valid GBK pair, so decoding alone cannot tell them apart. Japanese kana and most kanji land in
GBK's extension areas, outside GB2312, whose 6,763 characters cover everyday simplified Chinese
(company names with a rare character such as 喆 or 堃 stay well below the threshold). The
conservative rule: among the first ``SAMPLE_CHARS`` non-ASCII characters of the GB18030 text, if
there are at least ``MIN_EVIDENCE`` and more than half lie outside GB2312, or any is in the
Private Use Area (GB18030's user-defined codes), the file is refused; the reason says
"Shift-JIS" when the bytes also decode cleanly as Shift-JIS (cp932) into text with kana and
no user-defined codes. Too few non-ASCII
characters is no evidence, and the file is read.

A text file never contains NUL or other control characters (except tab, CR, LF): such a file
is binary, or UTF-16 without a byte-order mark, and is refused.

EUC-JP cannot be told apart from GB2312 by bytes (both put kana at the same codes, and its
kanji decode as other valid GB2312 hanzi). So GB18030 text with Japanese kana that also decodes
cleanly as EUC-JP is refused as ambiguous: a genuine GBK file naming a Japanese company in kana
must then be saved as UTF-8, which is always read.

**Text cells** (``text_problem``): longer than the model's ``String(n)`` (PostgreSQL would
refuse the row and SQLite would store it whole), or containing control characters (PostgreSQL
refuses NUL), are refused per cell, the same on both databases.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any


def N_(text: str) -> str:  # noqa: N802 - Babel's default keyword for "translate later"
    return text


BLOCK = 1 << 20
SAMPLE_CHARS = 20_000
MIN_EVIDENCE = 4
MAX_RARE_SHARE = 0.5

REASONS = {
    "file_encoding": N_(
        "The file is not UTF-8 or GBK/GB18030 text (undecodable bytes on line %(line)s): "
        "save it as “CSV UTF-8” or .xlsx"
    ),
    "file_japanese": N_(
        "The file looks like Japanese text (Shift-JIS or EUC-JP), not GBK: save it as "
        "“CSV UTF-8” or .xlsx"
    ),
    "file_implausible": N_(
        "The file does not look like Chinese text in GBK/GB18030 (mostly rare or private "
        "characters): save it as “CSV UTF-8” or .xlsx"
    ),
    "file_binary": N_(
        "The file contains NUL bytes (line %(line)s): it is a binary file or UTF-16 without "
        "a byte-order mark, not a CSV; save it as “CSV UTF-8” or .xlsx"
    ),
    "file_control_chars": N_(
        "The file contains control characters on line %(line)s: it is not a text CSV"
    ),
    "file_utf32": N_("UTF-32 text is not supported: save it as “CSV UTF-8” or .xlsx"),
    "too_long": N_("Too long: %(length)s characters, at most %(max)s"),
    "control_chars": N_("Contains control characters"),
}


class FileRefused(Exception):
    """An upload that is not readable text; ``code`` keys ``REASONS``, ``params`` fill it.

    A refusal of the input, not a failure of the job: the import ends with the batch FAILED
    and this reason, and the job finishes normally (so RQ does not retry it).
    """

    def __init__(self, code: str, **params: Any):
        self.code, self.params = code, params
        super().__init__(REASONS[code] % params if params else REASONS[code])


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PRIVATE = re.compile(r"[\ue000-\uf8ff\U000f0000-\U0010ffff]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_BOMS_REFUSED = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_BOMS_UTF16 = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class _Undecodable(Exception):
    def __init__(self, offset: int, line: int):
        self.offset, self.line = offset, line


def detect_encoding(path: str | Path) -> str:
    """The codec to read the CSV at ``path`` with, or ``FileRefused`` with the reason.

    Reads the whole file (bounded by the upload limit checked before). Changes nothing.
    """
    path = Path(path)
    with open(path, "rb") as f:
        first = f.read(BLOCK)
    head = first[:4]
    if head.startswith(_BOMS_REFUSED):
        raise FileRefused("file_utf32")
    if head.startswith(_BOMS_UTF16):
        try:
            _decode_all(path, "utf-16")
        except _Undecodable as exc:
            raise FileRefused("file_encoding", line=exc.line) from None
        return "utf-16"
    if (nul := first.find(b"\x00")) >= 0:  # UTF-16 without BOM, or not text at all
        raise FileRefused("file_binary", line=first[:nul].count(b"\n") + 1)
    try:
        _decode_all(path, "utf-8-sig")
        return "utf-8-sig"
    except _Undecodable as utf8_error:
        if head.startswith(codecs.BOM_UTF8):
            raise FileRefused("file_encoding", line=utf8_error.line) from None
        failed_at = utf8_error
    try:
        sample = _decode_all(path, "gb18030")
    except _Undecodable as gb_error:
        # The encoding that got further is the one the file was most likely meant to be in.
        furthest = max(failed_at, gb_error, key=lambda e: e.offset)
        if _looks_shift_jis(path):
            raise FileRefused("file_japanese") from None
        raise FileRefused("file_encoding", line=furthest.line) from None
    if not _plausible_chinese(sample):
        raise FileRefused("file_japanese" if _looks_shift_jis(path) else "file_implausible")
    if _KANA.search(sample) and _decodes(path, "euc_jp"):
        raise FileRefused("file_japanese")
    return "gb18030"


def _decode_all(path: Path, encoding: str) -> str:
    """Decode every byte strictly; refuse control characters. Returns the first characters."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    sample: list[str] = []
    kept = offset = lines = 0
    with open(path, "rb") as f:
        while True:
            block = f.read(BLOCK)
            final = not block
            try:
                chunk = decoder.decode(block, final=final)
            except UnicodeDecodeError as exc:
                # Offsets count bytes handed to the decoder; a split character is still whole.
                line = lines + block[: max(exc.start, 0)].count(b"\n") + 1
                raise _Undecodable(offset + max(exc.start, 0), line) from None
            if bad := _CONTROL.search(chunk):
                line = lines + chunk[: bad.start()].count("\n") + 1
                if bad.group() == "\x00":
                    raise FileRefused("file_binary", line=line)
                raise FileRefused("file_control_chars", line=line)
            lines += chunk.count("\n")
            offset += len(block)
            if kept < SAMPLE_CHARS * 4:
                sample.append(chunk[: SAMPLE_CHARS * 4 - kept])
                kept += len(sample[-1])
            if final:
                return "".join(sample)


_KANA = re.compile(r"[\u3041-\u30ff]")


def _decodes(path: Path, encoding: str) -> bool:
    try:
        _decode_all(path, encoding)
    except (_Undecodable, FileRefused):
        return False
    return True


def _looks_shift_jis(path: Path) -> bool:
    """Decodes cleanly as cp932, with kana and without its user-defined (private) codes."""
    try:
        sample = _decode_all(path, "cp932")
    except (_Undecodable, FileRefused):
        return False
    return bool(_KANA.search(sample)) and not _PRIVATE.search(sample)


_IN_GB2312: dict[str, bool] = {}


def _in_gb2312(ch: str) -> bool:
    known = _IN_GB2312.get(ch)
    if known is None:
        try:
            ch.encode("gb2312")
            known = True
        except UnicodeEncodeError:
            known = False
        _IN_GB2312[ch] = known
    return known


def _plausible_chinese(text: str) -> bool:
    """See the module docstring: GB18030 text should be mostly GB2312 and never private."""
    if _PRIVATE.search(text):
        return False
    chars = _NON_ASCII.findall(text)[:SAMPLE_CHARS]
    if len(chars) < MIN_EVIDENCE:
        return True
    rare = sum(1 for ch in chars if not _in_gb2312(ch))
    return rare <= MAX_RARE_SHARE * len(chars)


# -- text cells -------------------------------------------------------------------------------


def column_length(column: Any) -> int | None:
    """The ``String(n)`` length of a mapped column (``Customer.name``), None if unbounded."""
    return getattr(column.property.columns[0].type, "length", None)


def text_problem(value: str, max_length: int | None) -> tuple[str, dict[str, Any]] | None:
    """(reason code, params) if ``value`` cannot be stored in a ``String(max_length)`` column.

    Lengths are counted in characters, as PostgreSQL's ``varchar(n)`` does.
    """
    if _CONTROL.search(value):
        return "control_chars", {}
    if max_length is not None and len(value) > max_length:
        return "too_long", {"length": len(value), "max": max_length}
    return None
