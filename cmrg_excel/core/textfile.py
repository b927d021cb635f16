"""Text files as spreadsheet programs save them: which encoding, which separator.

Excel's "Save as CSV" writes the computer's old code page (Windows-1252 in the UK, 850 on an
old DOS-era setting, Mac Roman on an old Mac), "CSV UTF-8" writes UTF-8 with a byte-order
mark, "Unicode text" writes UTF-16 separated by tabs, and where the decimal separator is a
comma (most of Europe) its "CSV" is separated by semicolons. :func:`decode` reads the bytes
the way they were written, or says why it cannot; :func:`split_rows` finds the separator
from the header row the caller expects.

Why not a detection library: the candidates here are a handful of single-byte Western
code pages that every byte sequence decodes in, and which differ only in where they put
accented letters. charset-normalizer (tried) judges them by language statistics of the
whole text, which in a contract list is mostly ASCII names and numbers: it read cp850 and
Mac Roman lists as Windows-1252 ("Caf‚", "CafŽ") with no doubt. What tells them apart is
whether each non-ASCII character makes sense where it stands (a lower-case accented
letter inside a word, £ before a figure), which is what :func:`_oddities` counts; a text
that no code page makes sense of, or two make different sense of, is refused with the fix.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata

# Old code pages a spreadsheet program may have saved a "CSV" in, most likely first.
LEGACY = ("cp1252", "cp850", "mac_roman")
LEGACY_NAMES = {"cp1252": "Windows-1252", "cp850": "DOS code page 850", "mac_roman": "Mac Roman"}
DELIMITERS = (",", ";", "\t", "|")
SAVE_AS = "open it in Excel and save it again as 'CSV UTF-8 (Comma delimited)', or as an Excel workbook (.xlsx)"

# Symbols that make sense in a contract list, besides letters.
_SYMBOLS = set("£€$¥©®™°±×÷§¶•·½¼¾²³µ%‰")
_PUNCTUATION = set("‘’‚“”„–—…«»‹›\u00a0¡¿")


class TextFileError(ValueError):
    """The bytes cannot be read as text without guessing; the message says how to save them."""


def _oddities(text: str) -> int:
    """How many non-ASCII characters make no sense where they stand."""
    odd = 0
    prev = " "
    n = len(text)
    for i, ch in enumerate(text):
        if ch < "\x80":
            prev = ch
            continue
        nxt = text[i + 1] if i + 1 < n else " "
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            if "LATIN" not in name and "GREEK SMALL LETTER MU" not in name:
                odd += 1
            elif ch.isupper() and prev.isalpha() and prev.islower():
                odd += 1  # "CafŽ", "SociÄtÄ": a capital inside a lower-case word
            elif nxt.isdigit():
                odd += 1  # "œ1.2m": a letter glued to a figure
        elif ch in _SYMBOLS:
            pass
        elif ch in _PUNCTUATION:
            if prev.isalpha() and nxt.isalpha() and ch not in "’‘–—":
                odd += 1  # "Caf‚s": a quotation mark inside a word
        else:
            odd += 1  # box drawing, control characters, ¤, ¦ and the like
        prev = ch
    return odd


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding) of a text file's bytes; TextFileError when it cannot be read without guessing."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            raise TextFileError(f"it starts as UTF-8 text but is damaged further on: {SAVE_AS}") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise TextFileError(f"it is saved as UTF-16 (Unicode text) but is damaged: {SAVE_AS}") from None
    head = data[:400]
    if head.count(b"\x00") * 4 > len(head):  # UTF-16 without its byte-order mark
        encoding = "utf-16-le" if head[1::2].count(b"\x00") > head[0::2].count(b"\x00") else "utf-16-be"
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            raise TextFileError(f"it is saved as UTF-16 (Unicode text) but is damaged: {SAVE_AS}") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    scored = []
    for encoding in LEGACY:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        scored.append((_oddities(text), encoding, text))
    scored.sort(key=lambda s: s[0])
    if not scored or scored[0][0] > 0:
        best = scored[0][1] if scored else None
        why = "" if best is None else f" (read as {LEGACY_NAMES[best]} it has {scored[0][0]} character(s) that make no sense)"
        raise TextFileError(f"it is not saved as UTF-8, and no other encoding Excel uses reads it cleanly{why}: "
                            f"{SAVE_AS}")
    best_odd, encoding, text = scored[0]
    rivals = [s for s in scored[1:] if s[0] == best_odd and s[2] != text]
    if rivals:
        names = " or ".join(LEGACY_NAMES[e] for e in (encoding, *(r[1] for r in rivals)))
        raise TextFileError(f"it is not saved as UTF-8, and it reads equally well as {names}, which give different "
                            f"letters: {SAVE_AS}")
    return text, encoding


def split_rows(text: str, is_header) -> tuple[list[list[str]], str]:
    """(rows of cells, the separator) of delimited text: the separator is the one whose split of
    the first 20 rows gives a row that ``is_header(cells)`` accepts with the most cells.
    Quoted cells keep their line breaks. Falls back to commas when no separator gives a header."""
    best: tuple[int, str] | None = None
    for delimiter in DELIMITERS:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            for i, cells in enumerate(reader):
                if i >= 20:
                    break
                if is_header(cells) and (best is None or len(cells) > best[0]):
                    best = (len(cells), delimiter)
        except csv.Error:
            continue
    delimiter = best[1] if best else ","
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)), delimiter
