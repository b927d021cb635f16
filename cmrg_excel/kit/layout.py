"""Where everything lives in a self-assessment workbook, defined once.

The generator writes these cells and the reader reads the same ones, so the two cannot
drift apart. Rows are 1-based and columns are letters, as a person sees them in Excel;
``rc()`` converts to the 0-based pairs that xlsxwriter and calamine use.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.framework import Framework
from ..core.settings import DATE_MAX as _DATE_MAX, DATE_MIN as _DATE_MIN

LAYOUT_VERSION = "1"

INSTRUCTIONS = "Instructions"
CONTRACT = "Contract"
ASSESSMENT = "Assessment"
ATTESTATION = "Attestation"
META = "_cmrg"
SHEETS = (INSTRUCTIONS, CONTRACT, ASSESSMENT, ATTESTATION, META)
FIXES = "Fixes needed"  # first sheet of a corrections workbook

# The last row and column any sheet of a template may use: the reader refuses cells beyond.
MAX_ROW = 5000
MAX_COL = 26


def col_index(letter: str) -> int:
    """0-based column index of a column letter ('A' -> 0)."""
    n = 0
    for ch in letter:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def col_letter(index: int) -> str:
    """The column letter of a 0-based column index (0 -> 'A', 26 -> 'AA')."""
    out = ""
    n = index + 1
    while n > 0:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def rc(cell: str) -> tuple[int, int]:
    """0-based (row, col) of an A1 reference."""
    letters = "".join(ch for ch in cell if ch.isalpha())
    return int(cell[len(letters):]) - 1, col_index(letters)


# --- Contract sheet --------------------------------------------------------------------
@dataclass(frozen=True)
class ContractField:
    key: str
    label: str
    kind: str  # text, money, date, level, yesno
    identity: bool  # must match the ledger on return


CONTRACT_FIELDS: tuple[ContractField, ...] = (
    ContractField("contract_id", "Contract ID", "text", True),
    ContractField("title", "Contract title", "text", True),
    ContractField("supplier", "Supplier", "text", True),
    ContractField("directorate", "Directorate", "text", True),
    ContractField("owner_name", "Contract owner", "text", False),
    ContractField("owner_email", "Owner email", "text", False),
    ContractField("annual_value_gbp", "Annual value", "money", False),
    ContractField("total_value_gbp", "Total value", "money", False),
    ContractField("start_date", "Start date", "date", False),
    ContractField("end_date", "End date", "date", False),
    ContractField("risk", "Risk", "text", False),
    ContractField("complexity", "Complexity", "text", False),
    ContractField("recommission_date", "Re-commission / extension decision due", "date", False),
)
CONTRACT_HEADER_ROW = 4
CONTRACT_FIRST_ROW = 5
CONTRACT_LABEL_COL = "A"
CONTRACT_VALUE_COL = "B"
CONTRACT_CORRECTION_COL = "C"
CONTRACT_LAST_ROW = CONTRACT_FIRST_ROW + len(CONTRACT_FIELDS) - 1


def contract_cell(key: str, col: str = CONTRACT_VALUE_COL) -> str:
    for i, f in enumerate(CONTRACT_FIELDS):
        if f.key == key:
            return f"{col}{CONTRACT_FIRST_ROW + i}"
    raise KeyError(key)


# --- Assessment sheet ------------------------------------------------------------------
@dataclass(frozen=True)
class AssessColumn:
    key: str
    letter: str
    heading: str
    width: float
    input: bool  # unlocked for the contract owner
    prefill_only: bool = False  # shown and used only on re-review templates


# Widths are chosen so that the sheet prints across one A4 landscape page with 11-point text
# at 8 points or more (re-review templates, with two more columns, just as well).
ASSESS_COLUMNS: tuple[AssessColumn, ...] = (
    AssessColumn("ref", "A", "Ref", 5, False),
    AssessColumn("activity", "B", "Key activity", 33, False),
    AssessColumn("guidance", "C", "Examples of evidence", 19, False),
    AssessColumn("rating", "D", "Rating", 14, True),
    AssessColumn("score", "E", "Score", 6, False),
    AssessColumn("evidence", "F", "Evidence: what exists and where it is held (if Not applicable, why)", 32, True),
    AssessColumn("action", "G", "Improvement action", 24, True),
    AssessColumn("action_owner", "H", "Action owner", 12, True),
    AssessColumn("target_date", "I", "Target date", 11, True),
    AssessColumn("previous", "J", "Last review", 11, False, prefill_only=True),
    AssessColumn("confirm", "K", "Still accurate?", 10, True, prefill_only=True),
)
# A first-round template has no Last review or Still accurate? columns: its own columns are wider.
FIRST_ROUND_WIDTHS = {"activity": 38, "guidance": 24, "evidence": 38, "action": 28, "action_owner": 13}
ASSESS_BY_KEY = {c.key: c for c in ASSESS_COLUMNS}
# What the owner fills in on an activity row, in column order: every input column. The
# writer lays out ANSWER_KEYS on every template (confirm only on re-review templates); the
# reader, the checks and the copy of what was entered read INPUT_KEYS from any template.
INPUT_KEYS = tuple(c.key for c in ASSESS_COLUMNS if c.input)
ANSWER_KEYS = tuple(c.key for c in ASSESS_COLUMNS if c.input and not c.prefill_only)
ASSESS_TITLE_ROW = 1
ASSESS_HEADER_ROW = 4
ASSESS_FIRST_ROW = 5
CONFIRM_YES = "Yes"
OVERALL_LABEL = "Overall: mean score of all rated activities"  # column B of the overall row
# Columns whose cells the template fills with formulas (area counts, scores): the only places on
# the Assessment sheet where a formula belongs.
ASSESS_FORMULA_COLS = ("C", "E")


@dataclass(frozen=True)
class AssessRow:
    kind: str  # "area", "activity" or "overall"
    row: int  # 1-based
    area: int
    ref: str = ""


_ROWS_CACHE: dict[str, tuple[AssessRow, ...]] = {}


def assessment_rows(fw: Framework) -> list[AssessRow]:
    """Every row of the Assessment sheet below the header: an area row, then its activities."""
    cached = _ROWS_CACHE.get(fw.content_hash)
    if cached is None:
        cached = _ROWS_CACHE[fw.content_hash] = tuple(_assessment_rows(fw))
    return list(cached)


def _assessment_rows(fw: Framework) -> list[AssessRow]:
    rows: list[AssessRow] = []
    r = ASSESS_FIRST_ROW
    for area in fw.areas:
        rows.append(AssessRow("area", r, area.number))
        r += 1
        for act in area.activities:
            rows.append(AssessRow("activity", r, area.number, act.ref))
            r += 1
    rows.append(AssessRow("overall", r + 1, 0))
    return rows


def activity_rows(fw: Framework) -> dict[str, int]:
    """Activity reference -> its 1-based row on the Assessment sheet."""
    return {r.ref: r.row for r in assessment_rows(fw) if r.kind == "activity"}


def activity_cell(fw: Framework, ref: str, key: str) -> str:
    """The A1 address of one answer, e.g. activity_cell(fw, '1.3', 'rating') -> 'D8'."""
    return f"{ASSESS_BY_KEY[key].letter}{activity_rows(fw)[ref]}"


# --- Attestation sheet -----------------------------------------------------------------
@dataclass(frozen=True)
class AttestField:
    key: str
    label: str
    cell: str
    kind: str  # text, date, yes


ATTEST_FIELDS: tuple[AttestField, ...] = (
    AttestField("name", "Your name", "C6", "text"),
    AttestField("role", "Your role", "C7", "text"),
    AttestField("date", "Date signed", "C8", "date"),
    AttestField("confirm", "I confirm that this return is accurate and complete to the best of my "
                "knowledge, and that I am accountable for it", "C9", "yes"),
)
ATTEST_BY_KEY = {f.key: f for f in ATTEST_FIELDS}
ATTEST_YES = "Yes"
# The read-out of progress below the sign-off: "Key activities rated" and the overall mean (formulas).
ATTEST_PROGRESS_ROW = int(ATTEST_FIELDS[-1].cell[1:]) + 2
ATTEST_FORMULA_CELLS = (f"C{ATTEST_PROGRESS_ROW}", f"C{ATTEST_PROGRESS_ROW + 1}")
ATTEST_LAST_ROW = ATTEST_PROGRESS_ROW + 1
# The columns the Contract and Attestation sheets use: anything beyond is outside the form.
FORM_LAST_COL = "C"

# --- Metadata sheet (very hidden) ------------------------------------------------------
META_KEYS = (
    "issue_token",
    "contract_id",
    "round",
    "framework_id",
    "framework_version",
    "framework_hash",
    "layout_version",
    "kind",
    "generated_at",
    "tool_version",
)
META_FIRST_ROW = 1
META_KEY_COL = "A"  # each key written beside its value, so a reader can tell a moved row
META_VALUE_COL = "B"


def meta_cell(key: str, col: str = META_VALUE_COL) -> str:
    return f"{col}{META_FIRST_ROW + META_KEYS.index(key)}"


# --- Dates a workbook accepts -----------------------------------------------------------
# Target dates and the date signed: the writer's validation and the reader's check. The one
# range of dates a review programme uses (core/settings.py), also for settings and options.
DATE_MIN, DATE_MAX = _DATE_MIN, _DATE_MAX

# --- Places in words ----------------------------------------------------------------
ASSESS_SHORT_NAMES = {"ref": "Ref", "activity": "Key activity", "guidance": "Examples of evidence", "rating": "Rating",
                      "score": "Score", "evidence": "Evidence", "action": "Improvement action",
                      "action_owner": "Action owner", "target_date": "Target date", "previous": "Last review",
                      "confirm": "Still accurate?"}
ATTEST_SHORT_NAMES = {"name": "Your name", "role": "Your role", "date": "Date signed", "confirm": "Confirmation"}


def place_in_words(sheet: str, cell: str, ref: str = "") -> str:
    """Where a cell is, as an owner finds it by eye, with its reference for those who use it:
    "Assessment sheet, row for activity 1.4, Target date (cell I12)"."""
    letters = "".join(ch for ch in cell if ch.isalpha())
    row = int(cell[len(letters):]) if cell[len(letters):].isdigit() else 0
    parts = [f"{sheet} sheet"]
    if sheet == ASSESSMENT:
        if ref:
            parts.append(f"row for activity {ref}")
        column = next((c for c in ASSESS_COLUMNS if c.letter == letters), None)
        if column is not None:
            parts.append(ASSESS_SHORT_NAMES.get(column.key, column.heading))
    elif sheet == ATTESTATION:
        field = next((f for f in ATTEST_FIELDS if f.cell == cell), None)
        if field is not None:
            parts.append(ATTEST_SHORT_NAMES.get(field.key, field.label))
    elif sheet == CONTRACT and row >= CONTRACT_FIRST_ROW:
        i = row - CONTRACT_FIRST_ROW
        if i < len(CONTRACT_FIELDS):
            label = CONTRACT_FIELDS[i].label
            parts.append(f"Correction for {label}" if letters == CONTRACT_CORRECTION_COL else label)
    return ", ".join(parts) + (f" (cell {cell})" if cell else "")


# --- Lengths the reader accepts --------------------------------------------------------
MAX_TEXT = {"evidence": 4000, "action": 2000, "action_owner": 120, "name": 120, "role": 120, "correction": 500}
