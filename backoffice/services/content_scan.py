"""Streaming checks over the whole of an uploaded file (evidence, Art.17–19).

The upload check once looked at the first 4 KiB only, so a PDF with ``<script>`` after them was
stored and served. These functions read the whole file in chunks, never all of it at once; the
marker search keeps an overlap between chunks, so a marker split across a chunk boundary is
still found. ``scan`` makes every check in one pass over the file, so an upload is read once
(it was read up to four times: markers, NUL bytes, UTF-8, GB18030). Read-only; each function
leaves the file position at the end (callers seek back).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import BinaryIO

CHUNK_BYTES = 1024 * 1024
_GAP = 64  # whitespace allowed inside a marker ("<  script"): bounded, so a match is bounded

# Markup a browser would treat as active content when sniffing (it reads the first 512 bytes;
# we read everything). Any of these anywhere in a file refuses it, whatever its magic.
ACTIVE_MARKERS = re.compile(
    rb"<\s{0,%d}(?:script|html|svg|body|iframe|object|embed|!doctype\s{1,%d}html"
    rb"|\?xml-stylesheet)|javascript:" % (_GAP, _GAP),
    re.IGNORECASE,
)
# Longer than any match of ``ACTIVE_MARKERS``: a marker cut by a chunk boundary lies whole in
# the overlap plus the next chunk.
OVERLAP = 2 * _GAP + 64


def _chunks(f: BinaryIO, size: int):
    while block := f.read(size):
        yield block


def has_active_content(f: BinaryIO, chunk_size: int = CHUNK_BYTES) -> bool:
    """Whether any active-content marker (``<script``, ``<html``, ``javascript:``…) occurs
    anywhere in ``f``, read from its current position to the end in ``chunk_size`` pieces."""
    tail = b""
    for block in _chunks(f, chunk_size):
        window = tail + block
        if ACTIVE_MARKERS.search(window):
            return True
        tail = window[-OVERLAP:]
    return False


def contains_nul(f: BinaryIO, chunk_size: int = CHUNK_BYTES) -> bool:
    """Whether ``f`` holds a NUL byte (binary, not text), read in chunks."""
    return any(b"\x00" in block for block in _chunks(f, chunk_size))


def decodes_as(f: BinaryIO, encoding: str, chunk_size: int = CHUNK_BYTES) -> bool:
    """Whether all of ``f`` decodes in ``encoding``, with an incremental decoder (a character
    split across chunks is decoded whole)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for block in _chunks(f, chunk_size):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True)
class Scan:
    """What one pass over a file found: its first bytes, whether it holds active content or
    a NUL byte, and whether all of it decodes as UTF-8 (with or without BOM) and as GB18030."""

    head: bytes
    active: bool
    nul: bool
    utf8: bool
    gb18030: bool


def scan(f: BinaryIO, head_bytes: int, chunk_size: int = CHUNK_BYTES) -> Scan:
    """Every check of this module in one pass over ``f`` (from its position to the end).

    The decoders stop at their first error and the marker search at its first match; the
    file is still read to its end once, never twice.
    """
    head = b""
    tail = b""
    active = nul = False
    decoders = {
        "utf-8-sig": codecs.getincrementaldecoder("utf-8-sig")(),
        "gb18030": codecs.getincrementaldecoder("gb18030")(),
    }
    for block in _chunks(f, chunk_size):
        if len(head) < head_bytes:
            head += block[: head_bytes - len(head)]
        if not active:
            window = tail + block
            active = ACTIVE_MARKERS.search(window) is not None
            tail = window[-OVERLAP:]
        nul = nul or b"\x00" in block
        for name, decoder in list(decoders.items()):
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                del decoders[name]
    for name, decoder in list(decoders.items()):
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            del decoders[name]
    return Scan(head, active, nul, "utf-8-sig" in decoders, "gb18030" in decoders)
