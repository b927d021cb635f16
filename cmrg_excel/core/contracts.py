"""Reading and checking the council's contract list (``contracts.xlsx`` or ``.csv``).

Every bad row is reported at once, with its row number and column, so the secretariat can
fix the list in one pass. Nothing here writes files.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, fields
from pathlib import Path

import openpyxl

from . import textfile
from .errors import CmrgError

LEVELS = ("Low", "Medium", "High")


@dataclass(frozen=True)
class Column:
    name: str
    heading: str
    required: bool
    kind: str  # text, email, money, date, level, yesno
    help: str
    example: object


COLUMNS: tuple[Column, ...] = (
    Column("contract_id", "Contract ID", True, "id", "Your unique reference, e.g. C-0001. Letters, digits, - _ . / only.", "C-0001"),
    Column("title", "Contract title", True, "text", "What the contract is for.", "Highways maintenance term contract"),
    Column("supplier", "Supplier", True, "text", "The supplier's trading name.", "Example Highways Ltd"),
    Column("directorate", "Directorate", True, "text", "The directorate that owns the contract.", "Growth, Environment and Transport"),
    Column("owner_name", "Contract owner", True, "text", "Who will complete the self-assessment.", "Jane Example"),
    Column("owner_email", "Owner email", True, "email", "Where the workbook is sent.", "jane.example@council.gov.uk"),
    Column("annual_value_gbp", "Annual value (£)", True, "money", "Pounds a year, e.g. 1200000, £1.2m or £850k.", 1200000),
    Column("total_value_gbp", "Total value (£)", True, "money", "Whole-life value in pounds, including extensions taken.", 6000000),
    Column("start_date", "Start date", True, "date", "Date the contract started (dd/mm/yyyy).", dt.date(2023, 4, 1)),
    Column("end_date", "End date", True, "date", "Current end date, before any extension not yet taken.", dt.date(2028, 3, 31)),
    Column("risk", "Risk", True, "level", "Low, Medium or High.", "High"),
    Column("complexity", "Complexity", True, "level", "Low, Medium or High.", "Medium"),
    Column("recommission_date", "Re-commission / extension decision", False, "date", "When re-procurement or an extension decision is due (optional).", dt.date(2027, 6, 30)),
    Column("audit_synergy", "Audit synergy", False, "yesno", "Yes if internal audit is looking at this contract or service this year (optional).", "Yes"),
    Column("last_review_date", "Last review", False, "date", "Date of the last contract management review (optional).", None),
)
COLUMN_NAMES = [c.name for c in COLUMNS]
_BY_NAME = {c.name: c for c in COLUMNS}


@dataclass(frozen=True)
class Contract:
    contract_id: str
    title: str
    supplier: str
    directorate: str
    owner_name: str
    owner_email: str
    annual_value_gbp: float
    total_value_gbp: float
    start_date: dt.date
    end_date: dt.date
    risk: str
    complexity: str
    recommission_date: dt.date | None = None
    audit_synergy: bool | None = None
    last_review_date: dt.date | None = None
    row: int = 0

    def as_dict(self) -> dict:
        # Every field is a plain value, so a shallow copy is the same as dataclasses.asdict,
        # without its recursive deep copy (called for every workbook of a round).
        return {name: getattr(self, name) for name in _CONTRACT_FIELDS}


_CONTRACT_FIELDS = tuple(f.name for f in fields(Contract))


@dataclass(frozen=True)
class ContractProblem:
    row: int
    column: str
    value: object
    message: str

    def __str__(self) -> str:
        shown = "" if self.value in (None, "") else f" (found {self.value!r})"
        where = f"row {self.row}" + (f", column {self.heading}" if self.column else "")
        return f"{where}: {self.message}{shown}"

    @property
    def heading(self) -> str:
        """The column as the contract list's header row shows it ("End date", not end_date)."""
        col = _BY_NAME.get(self.column)
        return col.heading if col else self.column


@dataclass(frozen=True)
class ContractList:
    source: str
    contracts: tuple[Contract, ...]
    problems: tuple[ContractProblem, ...]
    bad_rows: tuple[int, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def by_id(self) -> dict[str, Contract]:
        return {c.contract_id: c for c in self.contracts}

    def problems_message(self, nothing_done: str) -> str:
        """Every problem, one a line, after a sentence saying what was not done: the same words
        for every command that reads the list ('nothing was generated', 'nothing was planned')."""
        lines = "\n".join(f"  {p}" for p in self.problems)
        return (f"{self.source} has {len(self.problems)} problem(s) in {len(self.bad_rows)} row(s); nothing was "
                f"{nothing_done}. Fix them, or use --skip-invalid to go ahead with the good rows only:\n{lines}")


class ContractListError(CmrgError):
    """The list cannot be read at all (missing file, no header row, wrong format)."""


_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_MONEY_RE = re.compile(
    r"^(?P<neg>-)?\s*£?\s*(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*(?P<unit>k|m|bn|thousand|million|billion)?$",
    re.IGNORECASE,
)
_UNITS = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9}
# Month names as people write them in dates and months (full, three letters, "sept"), any case.
MONTH_NUMBERS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"], start=1)}
MONTH_NUMBERS.update({k[:3]: v for k, v in list(MONTH_NUMBERS.items())})
MONTH_NUMBERS["sept"] = 9
# Dates written as text: ISO 2027-03-31 (a time after it, such as T10, 10:30, 10.30 or
# 10:30:00.5, is read past), day-first 31/03/2027, 31-03-2027 or 31.03.2027 (spaces around the
# separators are forgiven, and a time 10:30 or 10:30:00 after it is read past), and 31 March
# 2027, 31st Mar. 2027 or 31 Sept, 2027. The ISO time is matched possessively (Python 3.11+),
# which keeps it as fast as the stricter "HH:MM" pattern it replaced: this is on the ingest path.
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T\s]\s*+\d{1,2}+(?:[:.]\d{2}){0,2}+(?:\.\d++)?)?$")
_UK = re.compile(r"^(\d{1,2})\s*([/.\-])\s*(\d{1,2})\s*\2\s*(\d{2}|\d{4})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$")
_WORDS = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]+)\.?,?\s+(\d{4})$")
EXCEL_EPOCH = dt.date(1899, 12, 30)  # day 0 of Excel's serial numbers (1900 date system)
TWO_DIGIT_YEAR = "has a two-digit year; write the year in full"


def parse_money(value: object) -> float:
    """Pounds from a number or text such as '£1.2m', '1,200,000' or '850k'."""
    if isinstance(value, bool):
        raise ValueError("not an amount")
    if isinstance(value, (int, float)):
        if value != value:  # NaN
            raise ValueError("not an amount")
        return float(value)
    text = str(value).strip().replace("\u00a0", " ").replace("GBP", "").replace("gbp", "").strip()
    m = _MONEY_RE.match(text)
    if not m:
        raise ValueError("not an amount")
    amount = float(m["num"].replace(",", "")) * _UNITS.get((m["unit"] or "").lower(), 1.0)
    return -amount if m["neg"] else amount


def read_date(value: object, *, two_digit_year: bool = False) -> tuple[dt.date | None, str]:
    """A date from a cell value, or (None, why not) with ``why`` worded to follow the value
    ("is not a date", "is not a real date", or that it has a two-digit year).

    Accepts date and datetime cells, Excel serial numbers (the day only: any time of day is
    dropped), ISO text 2027-03-31, day-first UK text 31/03/2027, 31-03-2027 or 31.03.2027
    (spaces around the separators and a time after the date are forgiven) and 31 March 2027,
    31st Mar 2027. Two-digit years (31/03/27) are refused as ambiguous unless ``two_digit_year``
    is true, when they are read as strptime's ``%y`` reads them: 00-68 are 2000-2068, 69-99
    are 1969-1999.

    This is the one date reader: contract owners' returns use it as it is
    (:func:`cmrg_excel.intake.check.parse_date`), the contract list and the plan through
    :func:`parse_date`. It is on the ingest path, so it compiles nothing and calls nothing
    it need not.
    """
    if isinstance(value, dt.datetime):
        return value.date(), ""
    if isinstance(value, dt.date):
        return value, ""
    if isinstance(value, bool):
        return None, "is not a date"
    if isinstance(value, (int, float)):
        if value != value or not 1 <= value < 2958466:  # NaN, or outside 01/01/1900-31/12/9999
            return None, "is not a date"
        return EXCEL_EPOCH + dt.timedelta(days=int(value)), ""
    if not isinstance(value, str):
        return None, "is not a date"
    text = value.strip()
    ymd = None
    try:
        m = _ISO.match(text)
        if m:
            ymd = int(m.group(1)), int(m.group(2)), int(m.group(3))
            return dt.date(*ymd), ""
        m = _UK.match(text)
        if m:
            year = m.group(4)
            if len(year) == 2:
                if not two_digit_year:
                    return None, TWO_DIGIT_YEAR
                yy = int(year)
                ymd = yy + (2000 if yy <= 68 else 1900), int(m.group(3)), int(m.group(1))
                return dt.date(*ymd), ""
            ymd = int(year), int(m.group(3)), int(m.group(1))
            return dt.date(*ymd), ""
        m = _WORDS.match(text)
        if m and m.group(2).casefold() in MONTH_NUMBERS:
            ymd = int(m.group(3)), MONTH_NUMBERS[m.group(2).casefold()], int(m.group(1))
            return dt.date(*ymd), ""
    except ValueError:
        return None, f"is not a real date: {no_such_day(*ymd)}" if ymd else "is not a real date"
    return None, "is not a date"


MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December")


def no_such_day(year: int, month: int, day: int) -> str:
    """Why a day-month-year is not a date, as a person would say it: "there is no 31 February 2027"."""
    if not 1 <= month <= 12:
        return f"there is no month {month} (months run from 1 to 12)"
    if day < 1:
        return f"there is no day {day}"
    return f"there is no {day} {MONTH_NAMES[month - 1]} {year}"


def parse_date(value: object) -> dt.date:
    """A date from a date cell, an Excel serial number or unambiguous UK or ISO text, for the
    contract list and the plan: :func:`read_date` with two-digit years allowed (31/03/27 is
    31/03/2027). Raises ValueError ("not a date", "not a real date") when it is not one."""
    day, why = read_date(value, two_digit_year=True)
    if day is None:
        raise ValueError(why.removeprefix("is "))
    return day


def _header_key(value: object) -> str:
    text = str(value or "").strip().lower()
    for c in COLUMNS:
        if text in (c.name, c.heading.lower()):
            return c.name
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def _read_rows(path: Path) -> list[tuple[int, list[object]]]:
    """(row number, cells) for every row, header included, as the user sees the numbers."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            text, _ = textfile.decode(path.read_bytes())
        except textfile.TextFileError as exc:
            raise ContractListError(f"{path}: {exc}") from None
        rows, _ = textfile.split_rows(text, lambda cells: "contract_id" in {_header_key(v) for v in cells})
        return list(enumerate(rows, start=1))
    if suffix in (".xlsx", ".xlsm"):
        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise ContractListError(f"{path}: cannot be opened as a workbook ({exc})") from None
        try:
            ws = wb["Contracts"] if "Contracts" in wb.sheetnames else wb.worksheets[0]
            return [(i, list(row)) for i, row in enumerate(ws.iter_rows(values_only=True), start=1)]
        finally:
            wb.close()
    raise ContractListError(f"{path}: the contract list must be an .xlsx or .csv file")


def read_contracts(path: str | Path) -> ContractList:
    """Read and check the whole contract list; every problem is collected, none raised."""
    path = Path(path)
    if not path.exists():
        raise ContractListError(f"{path}: contract list not found (run 'cmrg init' to create one)")
    rows = _read_rows(path)
    header_at = next(
        (i for i, (_, cells) in enumerate(rows[:20]) if "contract_id" in {_header_key(v) for v in cells}),
        None,
    )
    if header_at is None:
        raise ContractListError(f"{path}: no header row with a '{_BY_NAME['contract_id'].heading}' column in the first "
                                "20 rows")
    header_row, header = rows[header_at]
    keys = [_header_key(v) for v in header]
    missing = [c.heading for c in COLUMNS if c.required and c.name not in keys]
    if missing:
        raise ContractListError(f"{path}: header row {header_row} lacks required column(s): {', '.join(missing)}")
    index = {k: i for i, k in reversed(list(enumerate(keys))) if k in _BY_NAME}

    problems: list[ContractProblem] = []
    contracts: list[Contract] = []
    bad_rows: list[int] = []
    first_seen: dict[str, int] = {}
    near: dict[str, tuple[str, int]] = {}  # id_key -> (ID, row) of the first row with it
    for rownum, cells in rows[header_at + 1 :]:
        values = {name: (cells[i] if i < len(cells) else None) for name, i in index.items()}
        if all(v is None or str(v).strip() == "" for v in values.values()):
            continue
        if str(values.get("contract_id") or "").strip().lower() == "example":
            continue
        row_problems: list[ContractProblem] = []
        parsed: dict[str, object] = {}
        for col in COLUMNS:
            raw = values.get(col.name)
            if isinstance(raw, str):
                raw = " ".join(raw.split())
            if raw is None or raw == "":
                if col.required:
                    row_problems.append(ContractProblem(rownum, col.name, None, f"{col.heading} is missing"))
                parsed[col.name] = None
                continue
            try:
                parsed[col.name] = _parse_cell(col, raw)
            except ValueError as exc:
                row_problems.append(ContractProblem(rownum, col.name, raw, str(exc)))
        cid = parsed.get("contract_id")
        if isinstance(cid, str):
            if cid.casefold() in first_seen:
                row_problems.append(
                    ContractProblem(rownum, "contract_id", cid, f"duplicate contract ID: row {first_seen[cid.casefold()]} already has it")
                )
            elif id_key(cid) in near:
                other, other_row = near[id_key(cid)]
                if safe_filename(cid).casefold() == safe_filename(other).casefold():
                    why = (f"would have the same file name as '{other}' on row {other_row} ({safe_filename(cid)}.xlsx), "
                           "so their workbooks would overwrite each other")
                else:
                    why = f"differs from '{other}' on row {other_row} only in punctuation, so people would confuse them"
                row_problems.append(ContractProblem(rownum, "contract_id", cid,
                                                    f"contract ID {why}: give one of them another ID"))
            else:
                first_seen[cid.casefold()] = rownum
                near[id_key(cid)] = (cid, rownum)
        start, end = parsed.get("start_date"), parsed.get("end_date")
        if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
            row_problems.append(ContractProblem(rownum, "end_date", end.strftime("%d/%m/%Y"), "end date is before the start date"))
        if row_problems:
            problems.extend(row_problems)
            bad_rows.append(rownum)
            continue
        contracts.append(Contract(row=rownum, **{f.name: parsed[f.name] for f in fields(Contract) if f.name != "row"}))
    return ContractList(str(path), tuple(contracts), tuple(problems), tuple(bad_rows))


def _parse_cell(col: Column, raw: object) -> object:
    if col.kind == "id":
        text = str(raw).strip()
        if isinstance(raw, float) and raw.is_integer():
            text = str(int(raw))
        if not _ID_RE.match(text):
            raise ValueError(_ID_RULE + _id_culprit(text))
        return text
    if col.kind == "text":
        text = str(raw).strip()
        if len(text) > 255:
            raise ValueError(f"{col.heading} is longer than 255 characters")
        return text
    if col.kind == "email":
        text = str(raw).strip()
        if text.lower().startswith("mailto:"):
            text = text[7:]
        if not _EMAIL_RE.match(text):
            raise ValueError("not a valid email address")
        return text
    if col.kind == "money":
        try:
            amount = parse_money(raw)
        except ValueError:
            raise ValueError("not an amount in pounds (write e.g. 1200000, £1.2m or £850k)") from None
        if amount < 0:
            raise ValueError("amount must not be negative")
        return round(amount, 2)
    if col.kind == "date":
        day, why = read_date(raw, two_digit_year=True)
        if day is not None:
            return day
        if why.startswith("is not a real date: "):
            raise ValueError(why.removeprefix("is not a real date: "))  # "there is no 31 February 2027"
        raise ValueError("not a date (write dd/mm/yyyy, e.g. 31/03/2027)")
    if col.kind == "level":
        text = str(raw).strip().capitalize()
        if text not in LEVELS:
            raise ValueError(f"{col.heading.lower()} must be Low, Medium or High")
        return text
    if col.kind == "yesno":
        text = str(raw).strip().lower()
        if text in ("yes", "y", "true", "1"):
            return True
        if text in ("no", "n", "false", "0"):
            return False
        raise ValueError("must be Yes or No")
    raise AssertionError(col.kind)


_ID_RULE = "contract ID must be 1-40 letters, digits, '-', '_', '.' or '/', starting with a letter or digit"
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-")


def _id_culprit(text: str) -> str:
    """The first character an ID may not hold, named so it can be found (a Cyrillic С looks like a C)."""
    bad = next((ch for ch in text if ch not in _ID_CHARS), None)
    if bad is None:
        return ""
    if bad == " ":
        return ": it holds a space"
    name = unicodedata.name(bad, "a control character")
    if bad.isspace() or unicodedata.category(bad) in ("Cf", "Cc", "Zs", "Zl", "Zp"):
        return f": it holds an invisible character ({name}, U+{ord(bad):04X})"
    if ord(bad) < 128:
        return f": {bad!r} is not allowed"
    return f": {bad!r} ({name}, U+{ord(bad):04X}) is not allowed"


def id_key(contract_id: str) -> str:
    """What is left of an ID without case and punctuation: IDs with the same key are confused
    by people (C-1, C-1., C.1) and by file names (A/B and A_B both make A_B.xlsx)."""
    return "".join(ch for ch in contract_id.casefold() if ch.isalnum())


def safe_filename(contract_id: str) -> str:
    """A file name stem that is valid on Windows, macOS and Linux."""
    stem = re.sub(r'[<>:"/\\|?*\x00-\x1f]', "_", contract_id).rstrip(". ")
    if stem.upper().split(".")[0] in {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}:
        stem = "_" + stem
    return stem or "_"
