"""People's text made safe where it is shown or written.

* :func:`visible`: control characters (C0, DEL, C1: an escape sequence can retitle a
  terminal, plant a link or clear the screen) and invisible format characters (bidi
  overrides that reverse what is read, zero-width spaces) shown as visible escapes such
  as ``\\x1b``, wherever a file name or cell text reaches a terminal, a text file, a
  report or an email.
* :func:`csv_safe`: a CSV cell a spreadsheet shows as text, never runs as a formula
  (CSV formula injection, CWE-1236).

The CSV files themselves are written by :func:`cmrg_excel.kit.files.write_csv`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

# C0 and C1 controls, DEL, and the invisible format characters that change what is read:
# zero-width spaces and joiners, bidi marks, embeddings, overrides and isolates, the line and
# paragraph separators, the byte-order mark.
_INVISIBLE = "\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"
_HIDDEN_RE = re.compile("[\x00-\x1f\x7f-\x9f" + _INVISIBLE + "]")
_HIDDEN_KEEP_LINES_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + _INVISIBLE + "]")  # keeps \t and \n


_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(m: re.Match) -> str:
    ch = m.group()
    code = ord(ch)
    return _SHORT.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: object, lines: bool = False) -> str:
    """``text`` with every control and invisible format character shown as an escape (``\\x1b``,
    ``\\u202e``); with ``lines``, line breaks and tabs are kept (multi-line text in a file)."""
    text = "" if text is None else str(text)
    pattern = _HIDDEN_KEEP_LINES_RE if lines else _HIDDEN_RE
    return pattern.sub(_escape, text) if pattern.search(text) else text


def hidden_character(text: str) -> str | None:
    """The first control or invisible character in ``text``, named ("ESCAPE, U+001B"), or None."""
    m = _HIDDEN_RE.search(text)
    if m is None:
        return None
    ch = m.group()
    return f"{unicodedata.name(ch, _C0_NAMES.get(ord(ch), 'a control character'))}, U+{ord(ch):04X}"


# unicodedata has no names for the C0 and C1 controls
_C0_NAMES = {0x00: "NULL", 0x07: "BELL", 0x08: "BACKSPACE", 0x09: "TAB", 0x0A: "LINE FEED",
             0x0B: "VERTICAL TAB", 0x0C: "FORM FEED", 0x0D: "CARRIAGE RETURN", 0x1B: "ESCAPE", 0x7F: "DELETE",
             0x9B: "CONTROL SEQUENCE INTRODUCER", 0x9D: "OPERATING SYSTEM COMMAND"}

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    """A CSV cell that a spreadsheet will show as text, never run as a formula."""
    if isinstance(value, dt.datetime) and value.time() != dt.time():
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, str):
        value = visible(value, lines=True)
        if value.startswith(_TRIGGERS):
            return "'" + value
    return value
