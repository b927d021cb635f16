"""Plain text for the terminal: tables and lines cut to a width (ASCII only, so any console prints them).

People's text (file names, cells) is shown with its control characters as visible escapes
(:func:`cmrg_excel.core.textsafe.visible`): an escape sequence in a file name never reaches the
terminal to act on it."""

from __future__ import annotations

from .textsafe import visible


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending in '...' when it was longer."""
    text = visible(text)
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


def table(rows: list[list[object]], headers: list[str], indent: str = "") -> str:
    """A plain text table: padded columns under a dashed rule."""
    cells = [[str(h) for h in headers]] + [[("" if v is None else visible(v)) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(indent + line for line in lines)
