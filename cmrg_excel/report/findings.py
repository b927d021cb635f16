"""The review group's own findings: themes it agreed, and council-wide programme actions.

Generated findings are statistics, one per area or activity. The committee reads a short list
of themes the group agreed. ``cmrg findings`` writes ``findings.xlsx`` in the workspace,
pre-filled with the generated findings, where the secretariat keeps, drops, rewords and adds
themes, and keeps a Programme actions sheet. The committee paper uses the kept themes when the
workbook exists. Running ``cmrg findings`` again for a later period keeps every row the
secretariat has (their words, their Keep choices) and adds only generated findings not there
yet, marked New.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl

from ..core.contracts import read_date
from ..core.errors import CmrgError
from ..kit.files import write_atomic
from ..kit.styles import Styles, new_workbook, print_setup

FILE_NAME = "findings.xlsx"
THEMES = "Themes"
ACTIONS = "Programme actions"
KINDS = ("Strength", "Issue")
STATUSES = ("Open", "In progress", "Done", "Dropped")
THEME_COLUMNS = [("Keep?", 9), ("Strength or issue", 14), ("Theme, as the committee will read it", 60),
                 ("Area", 22), ("Contracts concerned", 24), ("Legacy?", 9), ("Where it came from", 28)]
ACTION_COLUMNS = [("Action", 60), ("Owner", 24), ("Due date", 12), ("Status", 12), ("Progress", 40)]
ROWS = 300


class FindingsError(CmrgError):
    """findings.xlsx cannot be used; the message names every bad row."""


@dataclass(frozen=True)
class Theme:
    kind: str                  # Strength or Issue
    text: str
    area: str = "Cross-cutting"
    contracts: str = ""
    legacy: bool = False
    key: str = ""              # the generated finding it started from ("" for the secretariat's own)


@dataclass(frozen=True)
class ProgrammeAction:
    action: str
    owner: str
    due: dt.date | None
    status: str
    progress: str = ""


@dataclass
class CuratedFindings:
    themes: list[Theme] = field(default_factory=list)          # the kept ones
    dropped: list[Theme] = field(default_factory=list)
    actions: list[ProgrammeAction] = field(default_factory=list)


def _yes(value: object) -> bool | None:
    text = str(value or "").strip().lower()
    if text in ("yes", "y", "true", "1"):
        return True
    if text in ("no", "n", "false", "0", ""):
        return False
    return None


def read_curated_findings(path: Path) -> CuratedFindings | None:
    """The themes and actions in ``findings.xlsx``; None when there is no such workbook."""
    if not path.exists():
        return None
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise FindingsError(f"{path.name}: cannot be opened as a workbook ({exc})") from None
    problems: list[str] = []
    out = CuratedFindings()
    try:
        if THEMES not in wb.sheetnames:
            raise FindingsError(f"{path.name}: has no {THEMES!r} sheet; make it again with 'cmrg findings'")
        for rownum, row in enumerate(wb[THEMES].iter_rows(min_row=2, values_only=True), start=2):
            cells = list(row) + [None] * (8 - len(row))
            keep, kind, text, area, contracts, legacy, _source, key = cells[:8]
            text = " ".join(str(text or "").split())
            if not text:
                continue
            kept, old = _yes(keep), _yes(legacy)
            kind_text = str(kind or "").strip().capitalize()
            if kept is None:
                problems.append(f"{THEMES} row {rownum}, Keep?: {keep!r} must be Yes or No")
            if kind_text not in KINDS:
                problems.append(f"{THEMES} row {rownum}, Strength or issue: {kind!r} must be Strength or Issue")
            if old is None:
                problems.append(f"{THEMES} row {rownum}, Legacy?: {legacy!r} must be Yes or No")
            if kept is None or kind_text not in KINDS or old is None:
                continue
            theme = Theme(kind_text, text, " ".join(str(area or "Cross-cutting").split()),
                          " ".join(str(contracts or "").split()), bool(old), str(key or ""))
            (out.themes if kept else out.dropped).append(theme)
        if ACTIONS in wb.sheetnames:
            for rownum, row in enumerate(wb[ACTIONS].iter_rows(min_row=2, values_only=True), start=2):
                cells = list(row) + [None] * (5 - len(row))
                action, owner, due, status, progress = cells[:5]
                action = " ".join(str(action or "").split())
                if not action:
                    continue
                day = None
                if due not in (None, ""):
                    day, why = read_date(due)
                    if day is None:
                        problems.append(f"{ACTIONS} row {rownum}, Due date: {due!r} {why}; write it as dd/mm/yyyy")
                status_text = str(status or "Open").strip().capitalize()
                if status_text not in STATUSES:
                    problems.append(f"{ACTIONS} row {rownum}, Status: {status!r} must be one of {', '.join(STATUSES)}")
                    continue
                out.actions.append(ProgrammeAction(action, " ".join(str(owner or "").split()), day, status_text,
                                                   " ".join(str(progress or "").split())))
    finally:
        wb.close()
    if problems:
        raise FindingsError(f"{path.name} has {len(problems)} problem(s):\n" + "\n".join(f"  {p}" for p in problems))
    return out


def write_findings_workbook(path: Path, generated: list[Theme], council: str = "", period: str = "",
                            marking: str = "") -> tuple[int, int]:
    """Write (or extend) ``findings.xlsx``; returns (rows kept from before, new generated rows)."""
    existing = read_curated_findings(path)
    before: list[tuple[Theme, bool]] = []
    actions: list[ProgrammeAction] = []
    if existing is not None:
        before = [(t, True) for t in existing.themes] + [(t, False) for t in existing.dropped]
        actions = existing.actions
    have = {t.key for t, _ in before if t.key}
    new = [t for t in generated if t.key not in have]
    wb, buffer = new_workbook()
    st = Styles(wb)
    sh = wb.add_worksheet(THEMES)
    sh.write_string(0, 0, "", st.header)
    for i, (heading, width) in enumerate(THEME_COLUMNS):
        sh.write_string(0, i, heading, st.header)
        sh.set_column(i, i, width, st.text)
    sh.set_column(7, 7, None, None, {"hidden": True})
    sh.write_string(0, 7, "key", st.header)
    r = 1
    for theme, kept in before:
        _theme_row(sh, st, r, theme, kept, "kept from before")
        r += 1
    for theme in new:
        _theme_row(sh, st, r, theme, True, f"New: generated for {period}" if period else "New: generated")
        r += 1
    sh.data_validation(1, 0, ROWS, 0, {"validate": "list", "source": ["Yes", "No"]})
    sh.data_validation(1, 1, ROWS, 1, {"validate": "list", "source": list(KINDS)})
    sh.data_validation(1, 5, ROWS, 5, {"validate": "list", "source": ["Yes", "No"]})
    sh.freeze_panes(1, 0)
    sh.set_row(0, 30)
    print_setup(sh, landscape=True, repeat_to_row=0, left_footer="Findings: themes", header=council, marking=marking)
    ac = wb.add_worksheet(ACTIONS)
    for i, (heading, width) in enumerate(ACTION_COLUMNS):
        ac.write_string(0, i, heading, st.header)
        ac.set_column(i, i, width, st.date if heading == "Due date" else st.text)
    for k, a in enumerate(actions, start=1):
        ac.write_string(k, 0, a.action)
        ac.write_string(k, 1, a.owner)
        if a.due:
            ac.write_datetime(k, 2, dt.datetime.combine(a.due, dt.time()), st.date)
        ac.write_string(k, 3, a.status)
        ac.write_string(k, 4, a.progress)
    ac.data_validation(1, 3, ROWS, 3, {"validate": "list", "source": list(STATUSES)})
    ac.freeze_panes(1, 0)
    print_setup(ac, landscape=True, repeat_to_row=0, left_footer="Findings: programme actions", header=council, marking=marking)
    guide = wb.add_worksheet("How to use this")
    guide.set_column("A:A", 100)
    for k, line in enumerate([
        "The review group's findings, for the committee paper",
        "Themes: each row is a strength or an issue the committee will read. Rows marked New were generated from "
        "the register; reword them, set Keep? to No to leave one out, or add your own rows (for example a theme "
        "tied to no single activity). Legacy? Yes marks an issue only the next commissioning cycle can fix.",
        "Programme actions: council-wide actions (an owner such as the Strategic Commissioner, a due date, a status).",
        "Running 'cmrg findings' again keeps every row and every word here, and adds only findings that are new.",
    ]):
        guide.write_string(k, 0, line, st.title if k == 0 else st.text)
    print_setup(guide, landscape=False, left_footer="Findings: guide", header=council, marking=marking)
    sh.activate()
    wb.close()
    write_atomic(path, buffer.getvalue())
    return len(before), len(new)


def _theme_row(sh, st, r: int, theme: Theme, kept: bool, source: str) -> None:
    values = ["Yes" if kept else "No", theme.kind, theme.text, theme.area, theme.contracts,
              "Yes" if theme.legacy else "No", source, theme.key]
    for c, v in enumerate(values):
        sh.write_string(r, c, v)
