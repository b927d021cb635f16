"""Reading a TOML file that a person edited: settings (``cmrg.toml``) and framework definitions.

Notepad and other editors save text in several ways; this reads what can be read without
guessing (UTF-8 with or without a byte-order mark, UTF-16 with one) and turns everything
else into one line naming the file, where, and the fix. ``tomllib`` does the parsing.
"""

from __future__ import annotations

import codecs
import tomllib
from pathlib import Path

from .errors import CmrgError

SAVE_AS_UTF8 = "save it as UTF-8 (in Notepad: File > Save as, Encoding: UTF-8)"


def decode(data: bytes, where: str, error: type[CmrgError]) -> str:
    """The text of a TOML file's bytes, or ``error`` saying how it was saved and what to do."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise error(f"{where}: the file is saved as UTF-16 but is damaged; {SAVE_AS_UTF8}") from None
    elif b"\x00" in data[:200]:
        # UTF-16 without a byte-order mark: every other byte of ASCII text is a NUL.
        raise error(f"{where}: the file is saved as UTF-16 (\"Unicode\") without a byte-order mark; {SAVE_AS_UTF8}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise error(f"{where}: the file is not saved as UTF-8 (line {line} has the byte 0x{data[exc.start]:02X}, "
                    f"as Windows-1252 or another old encoding writes an accent or £); {SAVE_AS_UTF8}") from None


def parse(text: str, where: str, error: type[CmrgError]) -> dict:
    """Parsed TOML, or one line naming the file and the line that is not valid TOML."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{where}: not valid TOML: {exc} (text goes in \"quotes\", dates are written 2027-01-31, "
                    "a section name in [brackets] on a line of its own)") from None


def load(path: Path, error: type[CmrgError], missing: str) -> dict:
    """Read and parse one TOML file; ``missing`` is the message (after the path) when it is not there."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise error(f"{path}: could not be read ({exc.strerror})") from None
    return parse(decode(data, str(path), error), str(path), error)
