"""The benefits log: savings and other benefits that reviews led to, as plain data.

Benefits reach the register from two places: the review group's meeting record, and the
workspace's ``benefits.xlsx``, where the secretariat adds benefits found later (a saving
confirmed at year end, say). This module reads and checks that workbook. Like the contract
list, every bad row is reported at once, by row number and column heading, so the log can be
put right in one pass; nothing here writes files.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import openpyxl

from .contracts import parse_money, read_date
from .errors import CmrgError

FILE_NAME = "benefits.xlsx"
SHEET = "Benefits"

# The kinds of benefit the committee paper counts. A cashable saving is money the council no
# longer spends each year; a one-off saving is money saved once; a non-cashable benefit (better
# service, less risk) is described, not counted.
CASHABLE, ONE_OFF, NON_CASHABLE = "Cashable", "One-off", "Non-cashable"
TYPES = (CASHABLE, ONE_OFF, NON_CASHABLE)
_TYPE_WORDS = {re.sub(r"[^a-z]", "", t.lower()): t for t in TYPES}
_TYPE_WORDS.update({"cashableayear": CASHABLE, "recurring": CASHABLE, "oneoff": ONE_OFF, "once": ONE_OFF,
                    "noncash": NON_CASHABLE, "noncashablebenefit": NON_CASHABLE})

MAX_DESCRIPTION = 1000
MAX_CAVEAT = 500


@dataclass(frozen=True)
class LogColumn:
    key: str
    heading: str
    required: bool
    help: str
    width: float


COLUMNS: tuple[LogColumn, ...] = (
    LogColumn("contract_id", "Contract ID", True, "The contract the benefit came from, as in the contract list.", 14),
    LogColumn("date", "Date", True, "When the benefit was agreed or confirmed (dd/mm/yyyy).", 12),
    LogColumn("description", "Description", True, "What the benefit is, in a sentence a councillor can read.", 50),
    LogColumn("amount", "Amount (£)", False,
              "Pounds, e.g. 1100000, £1.1m or £850k. A cashable saving is pounds a year. "
              "Leave blank for a non-cashable benefit.", 14),
    LogColumn("type", "Type", True, "Cashable (a saving every year), One-off, or Non-cashable.", 14),
    LogColumn("caveat", "Caveat", False,
              "Anything the committee should know, e.g. 'depending on prescribing patterns'.", 40),
)
_BY_HEADING = {c.heading.lower(): c for c in COLUMNS} | {c.key: c for c in COLUMNS}


@dataclass(frozen=True)
class Benefit:
    """One benefit as the register keeps it."""

    contract_id: str
    date: dt.date
    description: str
    amount_gbp: float | None
    type: str
    caveat: str
    source: str            # where it was recorded: "benefits.xlsx row 4", "meeting record 12/02/2027"


@dataclass(frozen=True)
class LogProblem:
    row: int
    column: str            # the heading the secretariat sees
    value: object
    message: str

    def __str__(self) -> str:
        shown = "" if self.value in (None, "") else f" ({str(self.value)[:60]!r})"
        return f"row {self.row}, {self.column}{shown}: {self.message}"


class BenefitsLogError(CmrgError):
    """The benefits log cannot be used; the message lists every bad row."""


def parse_type(value: object) -> str:
    """'cashable', 'One off', 'non-cashable' ... as one of TYPES."""
    key = re.sub(r"[^a-z]", "", str(value or "").lower())
    if key in _TYPE_WORDS:
        return _TYPE_WORDS[key]
    raise ValueError("must be Cashable, One-off or Non-cashable")


def check_amount(value: object, kind: str) -> float | None:
    """Pounds as a number, refusing what the paper could not print honestly."""
    if value is None or str(value).strip() == "":
        if kind != NON_CASHABLE:
            raise ValueError(f"a {kind.lower()} saving needs an amount in pounds, e.g. 1100000 or £1.1m")
        return None
    try:
        amount = parse_money(value)
    except ValueError:
        raise ValueError("is not an amount of pounds: write it as 1100000, £1.1m or £850k") from None
    if amount != amount or amount in (float("inf"), float("-inf")) or abs(amount) >= 1e12:
        raise ValueError("is not a believable amount of pounds")
    if amount < 0:
        raise ValueError("a benefit cannot be negative")
    return amount


def read_benefits_log(path: str | Path, known_contracts: set[str] | None = None,
                      today: dt.date | None = None) -> list[Benefit]:
    """Every benefit in ``benefits.xlsx``; raises :class:`BenefitsLogError` naming every bad row.

    A missing file is an empty log (the log is optional)."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise BenefitsLogError(f"{path.name}: cannot be opened as a workbook ({exc}). "
                               "Save it from Excel as an .xlsx workbook.") from None
    try:
        sheet = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
        rows = [(i, list(r)) for i, r in enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        wb.close()
    header_at = next((k for k, (_, cells) in enumerate(rows[:10])
                      if any(str(c or "").strip().lower() == "contract id" for c in cells)), None)
    if header_at is None:
        raise BenefitsLogError(f"{path.name}: no heading row with a 'Contract ID' column in the first 10 rows "
                               f"of sheet {sheet.title!r}. Start from the log 'cmrg init' makes.")
    index: dict[str, int] = {}
    for i, cell in enumerate(rows[header_at][1]):
        col = _BY_HEADING.get(str(cell or "").strip().lower())
        if col is not None and col.key not in index:
            index[col.key] = i
    missing = [c.heading for c in COLUMNS if c.required and c.key not in index]
    if missing:
        raise BenefitsLogError(f"{path.name}: the heading row lacks {', '.join(missing)}")
    today = today or dt.date.today()
    benefits: list[Benefit] = []
    problems: list[LogProblem] = []
    for rownum, cells in rows[header_at + 1:]:
        raw = {k: (cells[i] if i < len(cells) else None) for k, i in index.items()}
        if all(v is None or str(v).strip() == "" for v in raw.values()):
            continue
        found: list[LogProblem] = []

        def bad(key: str, message: str) -> None:
            found.append(LogProblem(rownum, next(c.heading for c in COLUMNS if c.key == key), raw.get(key), message))

        cid = " ".join(str(raw.get("contract_id") or "").split())
        if cid.lower() == "example":
            continue
        if not cid:
            bad("contract_id", "is missing")
        elif known_contracts is not None and cid not in known_contracts:
            bad("contract_id", "is not a contract in the register: check the ID against the contract list")
        day, why = read_date(raw.get("date")) if raw.get("date") not in (None, "") else (None, "is missing")
        if day is None:
            bad("date", why if why == "is missing" else f"{why}: write it as dd/mm/yyyy, e.g. 31/03/2027")
        elif day > today:
            bad("date", "is in the future: record a benefit once it is agreed")
        elif day.year < 2000:
            bad("date", "is before 2000: check the year")
        description = " ".join(str(raw.get("description") or "").split())
        if not description:
            bad("description", "is missing")
        elif len(description) > MAX_DESCRIPTION:
            bad("description", f"is {len(description):,} characters; keep it to {MAX_DESCRIPTION:,}")
        kind = None
        try:
            kind = parse_type(raw.get("type"))
        except ValueError as exc:
            bad("type", str(exc))
        amount = None
        if kind is not None:
            try:
                amount = check_amount(raw.get("amount"), kind)
            except ValueError as exc:
                bad("amount", str(exc))
        caveat = " ".join(str(raw.get("caveat") or "").split())
        if len(caveat) > MAX_CAVEAT:
            bad("caveat", f"is {len(caveat):,} characters; keep it to {MAX_CAVEAT:,}")
        if found:
            problems.extend(found)
            continue
        benefits.append(Benefit(cid, day, description, amount, kind, caveat, f"{path.name} row {rownum}"))
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise BenefitsLogError(f"{path.name} has {len(problems)} problem(s); nothing was taken from it:\n{lines}")
    return benefits
