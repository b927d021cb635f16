"""The plan workbook, ``outbox/review-plan.xlsx``: written, kept safe, and read back.

:func:`write_plan_workbook` writes the Schedule, Scores and Method sheets of a
:class:`~.plan.Plan`, and :func:`read_plan_schedule` reads the Schedule sheet back as the
secretariat left it. :func:`save_plan_workbook` writes it only where that keeps the
secretariat's edits: it notes the SHA-256 of what it wrote in a hidden file beside it, and
will not replace a workbook that is open or no longer the one it wrote (unless told to,
and then keeps it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..core.contracts import MONTH_NUMBERS
from ..kit.files import write_atomic
from ..kit.styles import Styles, new_workbook, print_setup, row_height
from .plan import CRITERIA, CRITERION_KEYS, Plan, PlanError, add_months, directorate_cap, month_start


# --- the workbook ----------------------------------------------------------------------
def write_plan_workbook(plan: Plan, path: Path, council: str = "", review_group: str = "") -> Path:
    """``review-plan.xlsx``: Schedule, Scores (an Excel Table) and Method sheets.

    Replaces whatever is at ``path`` and records what it wrote (:func:`record_plan_written`);
    :func:`save_plan_workbook` is the one that first makes sure nobody's edits are lost.
    """
    data = plan_workbook_bytes(plan, council, review_group)
    write_atomic(path, data)
    record_plan_written(path, data)
    return path


def plan_workbook_bytes(plan: Plan, council: str = "", review_group: str = "") -> bytes:
    """The plan workbook's file contents (see :func:`write_plan_workbook`)."""
    wb, buffer = new_workbook()
    st = Styles(wb)
    # not printed, so on one line: the row stays as tall as the printed text needs
    top_fmt = wb.add_format({"font_name": "Calibri", "valign": "top", "border": 1, "border_color": "#BFBFBF"})
    month_fmt = wb.add_format({"font_name": "Calibri", "num_format": "mmmm yyyy", "align": "left", "valign": "top",
                               "border": 1, "border_color": "#BFBFBF"})
    points_fmt = wb.add_format({"font_name": "Calibri", "num_format": "0.0", "align": "center", "valign": "top",
                                "border": 1, "border_color": "#BFBFBF"})
    total_fmt = wb.add_format({"font_name": "Calibri", "num_format": "0.0", "align": "center", "valign": "top",
                               "bold": True, "border": 1, "border_color": "#BFBFBF"})
    wb.set_properties({"title": "Contract management review plan", "company": council, "author": review_group})
    footer = f"Review plan from {plan.start:%d/%m/%Y}" + (f" | {council}" if council else "")
    sched = wb.add_worksheet("Schedule")
    scores_ws = wb.add_worksheet("Scores")
    method = wb.add_worksheet("Method")

    # Schedule
    cols = [("Month", 15), ("Contract ID", 11), ("Contract", 34), ("Directorate", 26), ("Score", 7),
            ("Why", 62)]
    # the first row of each month has a rule above it, so the months stand apart
    rule = {"top": 2, "top_color": "#1F3864"}
    month_first = wb.add_format({"font_name": "Calibri", "num_format": "mmmm yyyy", "align": "left", "valign": "top",
                                 "border": 1, "border_color": "#BFBFBF", "bold": True, **rule})
    cell_first = wb.add_format({"font_name": "Calibri", "valign": "top", "text_wrap": True, "border": 1,
                                "border_color": "#BFBFBF", **rule})
    points_first = wb.add_format({"font_name": "Calibri", "num_format": "0.0", "align": "center", "valign": "top",
                                  "border": 1, "border_color": "#BFBFBF", **rule})
    for i, (_, width) in enumerate(cols):
        sched.set_column(i, i, width)
    sched.set_row(0, 28)
    sched.write_string(0, 0, "Proposed contract management reviews", st.title)
    s = plan.settings
    sched.write_string(1, 0, f"{s.per_month} a month for {s.months} months from {plan.start:%d/%m/%Y}; "
                       f"scores out of 100 (see the Scores and Method sheets).", st.subtitle)
    hr = 3
    for i, (name, _) in enumerate(cols):
        sched.write_string(hr, i, name, st.header)
    previous = None
    for r, review in enumerate(plan.reviews, start=hr + 1):
        new_month = review.month != previous
        previous = review.month
        text_fmt = cell_first if new_month else st.cell
        sched.write_datetime(r, 0, dt.datetime.combine(review.month, dt.time()), month_first if new_month else month_fmt)
        sched.write_string(r, 1, review.contract_id, text_fmt)
        sched.write_string(r, 2, review.title, text_fmt)
        sched.write_string(r, 3, review.directorate, text_fmt)
        sched.write_number(r, 4, review.score, points_first if new_month else points_fmt)
        sched.write_string(r, 5, review.reason, text_fmt)
        sched.set_row(r, row_height(*[(text, cols[i][1]) for i, text in ((2, review.title), (3, review.directorate),
                                                                         (5, review.reason))]))
    last = hr + len(plan.reviews)
    if plan.unscheduled:
        r = last + 2
        sched.merge_range(r, 0, r, len(cols) - 1, f"Not scheduled in these {s.months} months: "
                          f"{len(plan.unscheduled)} contract(s), listed on the Scores sheet without a month.", st.note)
    sched.autofilter(hr, 0, max(last, hr + 1), len(cols) - 1)
    sched.freeze_panes(hr + 1, 0)
    print_setup(sched, landscape=True, repeat_to_row=hr, left_footer=footer, header=council)

    # Scores: one row per contract, each criterion's points in its own column.
    planned = {r.contract_id: r for r in plan.reviews}
    weights = s.scaled_weights
    # Printed: Rank to Planned month, across A4 landscape; the rest follow for the screen.
    headers = (["Rank", "Contract ID", "Contract", "Annual value", "Risk", "Complexity"]
               + [f"{heading}\n(of {weights[key]:.0f})" for key, heading, _, _ in CRITERIA]
               + ["Total (of 100)", "Planned month", "Directorate", "Total value", "Key date", "Key date is",
                  "Last review", "Why"])
    widths = [5, 10, 28, 14, 8, 11] + [10.5] * len(CRITERIA) + [9, 13, 30, 15, 12, 16, 12, 70]
    printed = headers.index("Planned month") + 1
    for i, w in enumerate(widths):
        scores_ws.set_column(i, i, w)
    scores_ws.set_row(0, 28)
    scores_ws.write_string(0, 0, "Every contract's score", st.title)
    scores_ws.write_string(1, 0, "Each criterion's points are in their own column; they add up to the total. "
                           "Weights are on the Method sheet.", st.subtitle)
    th = 3
    n = len(plan.scores)
    scores_ws.set_row(th, 48)
    scores_ws.add_table(th, 0, th + max(n, 1), len(headers) - 1, {
        "name": "Scores", "style": "Table Style Light 9", "autofilter": True,
        "columns": [{"header": h, "header_format": st.header} for h in headers],
    })
    centred = wb.add_format({"font_name": "Calibri", "align": "center", "valign": "top", "border": 1,
                             "border_color": "#BFBFBF"})
    for r, sc in enumerate(plan.scores, start=th + 1):
        c = sc.contract
        scores_ws.set_row(r, row_height((c.title, widths[2])))
        row = [
            ("n", r - th, st.cell), ("s", c.contract_id, st.cell), ("s", c.title, st.cell),
            ("n", c.annual_value_gbp, st.cell_money), ("s", c.risk, centred), ("s", c.complexity, centred),
            *[("n", sc.contributions[k], points_fmt) for k in CRITERION_KEYS],
            ("n", sc.total, total_fmt),
            ("d", planned[c.contract_id].month if c.contract_id in planned else None, month_fmt),
            ("s", c.directorate, top_fmt), ("n", c.total_value_gbp, st.cell_money),
            ("d", sc.key_date, st.cell_date),
            ("s", {"re-commissioning": "Re-commissioning", "end": "End date"}.get(sc.key_date_kind or "", ""), top_fmt),
            ("d", sc.last_review, st.cell_date),
            ("s", sc.reason, top_fmt),
        ]
        for i, (kind, value, fmt) in enumerate(row):
            if value is None or value == "":
                scores_ws.write_blank(r, i, None, fmt)
            elif kind == "s":
                scores_ws.write_string(r, i, str(value), fmt)
            elif kind == "d":
                scores_ws.write_datetime(r, i, dt.datetime.combine(value, dt.time()), fmt)
            else:
                scores_ws.write_number(r, i, value, fmt)
    scores_ws.print_area(0, 0, th + max(n, 1), printed - 1)
    scores_ws.freeze_panes(th + 1, 2)
    print_setup(scores_ws, landscape=True, repeat_to_row=th, left_footer=footer, header=council,
                last_col=printed - 1)

    # Method
    method.set_column(0, 0, 26)
    method.set_column(1, 1, 14)
    method.set_column(2, 2, 14)
    method.set_column(3, 3, 62)
    method.set_row(0, 28)
    method.write_string(0, 0, "How contracts are scored and scheduled", st.title)
    method.write_string(1, 0, "Weights come from the [plan] section of cmrg.toml and are scaled to add up to 100.",
                        st.subtitle)
    for i, h in enumerate(["Criterion", "Weight as set", "Out of 100", "How it is measured"]):
        method.write_string(3, i, h, st.header)
    r = 4
    for key, heading, setting, how in CRITERIA:
        method.write_string(r, 0, f"{heading} ({setting})", st.cell)
        method.write_number(r, 1, s.weights[key], points_fmt)
        method.write_number(r, 2, weights[key], points_fmt)
        method.write_string(r, 3, how, st.cell)
        method.set_row(r, row_height((f"{heading} ({setting})", 26), (how, 62)))
        r += 1
    r += 1
    method.write_string(r, 0, "Scheduling", st.heading)
    r += 1
    notes = [
        f"{s.per_month} reviews a month for {s.months} months, starting {add_months(month_start(plan.start), 0):%B %Y}.",
        f"A re-commissioning or end date counts for timing when it falls within {s.timing_horizon_months} months "
        f"of {plan.start:%d/%m/%Y}; such a contract is scheduled at least {s.lead_months} month(s) before that date "
        "where possible, or as soon as possible when that is already too late.",
        f"No directorate has more than {directorate_cap(s)} of a month's {s.per_month} reviews "
        f"(max_directorate_share = {s.max_directorate_share:g}) while another directorate has a contract waiting.",
        "Otherwise, the highest score goes first.",
        f"Time since review earns full marks after {s.review_full_months} months; the later of the contract list's "
        "Last review column and the last accepted return in the register counts.",
        "This is a proposal: move reviews between months as the group sees fit, and change the weights in cmrg.toml "
        "and run 'cmrg plan' again to see their effect.",
    ]
    for note in notes:  # each a bullet point across the sheet's width
        method.merge_range(r, 0, r, 3, f"\u2022 {note}", st.text)
        method.set_row(r, row_height((f"\u2022 {note}", 26 + 14 + 14 + 62)))
        r += 1
    print_setup(method, landscape=False, left_footer=footer, header=council)

    sched.activate()
    wb.close()
    return buffer.getvalue()


# --- keeping the secretariat's edits ---------------------------------------------------
# The group moves reviews between months on the plan workbook's Schedule sheet, and
# 'cmrg generate --planned' reads it as they left it, so writing a new plan must never
# destroy those edits. Each time cmrg writes the workbook it notes the SHA-256 of the
# bytes it wrote, and when, in a small hidden file beside it. A workbook whose bytes
# still match is cmrg's own and may be replaced; any other (edited, copied in, or from
# a version of cmrg that kept no note) is left alone, or moved aside to a dated name
# when the user asks for a new plan anyway.
RECORD_KEYS = ("file", "sha256", "written_at")


def plan_record_path(path: Path) -> Path:
    """The hidden note of what cmrg wrote to a plan workbook: ``outbox/.review-plan.json``."""
    return path.with_name(f".{path.stem}.json")


def lock_files(path: Path) -> list[tuple[Path, str]]:
    """The files a spreadsheet program puts beside a workbook it has open, and the program's name."""
    return [(path.with_name(f"~${path.name}"), "Excel"), (path.with_name(f".~lock.{path.name}#"), "LibreOffice")]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_plan_written(path: Path, data: bytes, when: dt.datetime | None = None) -> Path:
    """Note, beside the workbook, the SHA-256 of exactly ``data`` (the bytes written to ``path``) and
    when (UTC). Written atomically: the note is the old one or the new one, never half of either."""
    when = (when or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    record = {
        "file": path.name,
        "sha256": _sha256(data),
        "written_at": when.isoformat(timespec="seconds"),
        "about": f"Written by 'cmrg plan' with {path.name}, to tell whether the workbook has been changed "
                 "since (so that a new plan never replaces the group's edits). Leave it be.",
    }
    target = plan_record_path(path)
    write_atomic(target, (json.dumps(record, indent=2) + "\n").encode("utf-8"))
    return target


def _read_record(path: Path) -> tuple[str | None, dt.datetime | None]:
    """(sha256, written_at in UTC) from the note about ``path``; (None, None) when there is no usable note."""
    try:
        record = json.loads(plan_record_path(path).read_text(encoding="utf-8"))
        if not isinstance(record, dict) or record.get("file") != path.name:
            return None, None
        sha = record["sha256"]
        if not (isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha)):
            return None, None
        when = dt.datetime.fromisoformat(record["written_at"])
    except (OSError, ValueError, KeyError, TypeError):  # missing, unreadable or not ours: no record
        return None, None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return sha, when.astimezone(dt.timezone.utc)


@dataclass(frozen=True)
class PlanWorkbookState:
    """A plan workbook as it is now, against cmrg's note of what it last wrote there."""

    path: Path
    exists: bool
    sha256: str | None               # of its bytes now (None when absent or unreadable)
    recorded_sha256: str | None      # of the bytes cmrg last wrote (None without a note)
    written_at: dt.datetime | None   # when cmrg last wrote it, UTC (None without a note)
    saved_at: dt.datetime | None     # when the file was last saved (modified), local time
    open_in: str | None = None       # "Excel" or "LibreOffice" while its lock file is beside it
    lock_file: Path | None = None

    @property
    def changed(self) -> bool:
        """There is a workbook, and it cannot be shown to be the one cmrg last wrote."""
        return self.exists and (self.recorded_sha256 is None or self.sha256 != self.recorded_sha256)


def plan_workbook_state(path: Path) -> PlanWorkbookState:
    """Whether the plan workbook at ``path`` is there, open, and as cmrg last wrote it."""
    lock, program = next(((f, name) for f, name in lock_files(path) if f.exists()), (None, None))
    if not path.is_file():
        sha, when = _read_record(path)
        return PlanWorkbookState(path, False, None, sha, when, None, program, lock)
    try:
        saved_at = dt.datetime.fromtimestamp(path.stat().st_mtime)
        current = _sha256(path.read_bytes())
    except OSError:  # cannot even read it: it is certainly not provably ours
        saved_at, current = None, None
    sha, when = _read_record(path)
    return PlanWorkbookState(path, True, current, sha, when, saved_at, program, lock)


def kept_name(state: PlanWorkbookState) -> Path:
    """A free name beside the workbook to keep it under, dated when it was last saved:
    ``review-plan (saved 27-11-2026 1530).xlsx``, then `` (2)``, `` (3)``... if that is taken."""
    path = state.path
    stamp = f" (saved {state.saved_at:%d-%m-%Y %H%M})" if state.saved_at else " (kept)"
    candidate = path.with_name(f"{path.stem}{stamp}{path.suffix}")
    n = 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = path.with_name(f"{path.stem}{stamp} ({n}){path.suffix}")
    return candidate


def _keep_aside(state: PlanWorkbookState) -> Path:
    """Move the workbook to :func:`kept_name`, never over another file."""
    for _ in range(100):
        target = kept_name(state)
        try:
            if os.name == "nt":
                os.rename(state.path, target)  # refuses to replace an existing file on Windows
            else:
                os.link(state.path, target)    # refuses an existing name, unlike rename
                os.unlink(state.path)
            return target
        except FileExistsError:
            continue  # taken between looking and moving: look again
        except OSError:
            if os.name == "nt" or target.exists():
                raise
            os.rename(state.path, target)  # no hard links here (e.g. some network drives)
            return target
    raise FileExistsError(f"no free name to keep {state.path.name} under")


class PlanWorkbookKept(PlanError):
    """The plan workbook there was not replaced: it is open, or it has been changed since cmrg wrote it."""

    def __init__(self, message: str, state: PlanWorkbookState):
        super().__init__(message)
        self.state = state


@dataclass(frozen=True)
class SavedPlan:
    path: Path
    kept: Path | None  # where the previous, changed workbook now is (with replace=True)


def _shown(name: str, path: Path) -> str:
    """``path`` named the way ``name`` (the workbook as shown in messages) is: same folder, its own file name."""
    return f"{name.rsplit('/', 1)[0]}/{path.name}" if "/" in name else path.name


def save_plan_workbook(plan: Plan, path: Path, council: str = "", review_group: str = "", *,
                       replace: bool = False, name: str | None = None) -> SavedPlan:
    """Write the plan workbook without ever losing the secretariat's edits.

    A workbook already at ``path`` is replaced only when its bytes are exactly what cmrg
    last wrote there. One that is open in Excel or LibreOffice is never touched. Any
    other (changed since, or with no note of cmrg writing it) is left as it is and
    :class:`PlanWorkbookKept` raised, or with ``replace`` moved to a dated name beside it
    first (:func:`kept_name`). ``name`` is how the workbook is named in messages.
    """
    name = name or path.name
    state = plan_workbook_state(path)
    if state.exists and state.open_in:
        lock = _shown(name, state.lock_file)
        raise PlanWorkbookKept(
            f"{name} is open in {state.open_in} (its lock file {lock} is there), so it was not replaced. Close it "
            f"in {state.open_in} first (saving it if you have changed it), then run 'cmrg plan' again. If it is not "
            f"open anywhere, the lock file was left behind when {state.open_in} stopped: delete {lock} (a hidden "
            "file) and try again.", state)
    kept = None
    if state.changed:
        if not replace:
            keep_as = _shown(name, kept_name(state))
            if state.recorded_sha256 is not None:
                when = state.written_at.astimezone()
                why = (f"{name} has been changed since cmrg wrote it on {when:%d/%m/%Y} at {when:%H:%M} "
                       "(it may hold the group's moves between months), so it was not replaced.")
            else:
                why = (f"cmrg has no note of writing {name} (it may come from an older version of cmrg, or have "
                       "been copied in), so it cannot tell whether the workbook holds the group's moves between "
                       "months, and did not replace it.")
            raise PlanWorkbookKept(
                f"{why} To make a new plan anyway, run 'cmrg plan --replace' (plus any options you gave): the "
                f"workbook there now will be kept as {keep_as}.", state)
        try:
            kept = _keep_aside(state)
        except OSError as exc:
            raise PlanWorkbookKept(f"{name} could not be moved aside to keep it ({exc.strerror or exc}), so no new "
                                   "plan was written: close it in any program that has it open, and try again",
                                   state) from None
    try:
        write_plan_workbook(plan, path, council, review_group)
    except OSError as exc:
        kept_note = f" (the previous workbook is kept as {_shown(name, kept)})" if kept else ""
        raise PlanError(f"{name} could not be written ({exc.strerror or exc}){kept_note}: close it in any program "
                        "that has it open, check the outbox folder can be written to, and try again") from None
    return SavedPlan(path, kept)


# --- reading a plan back ---------------------------------------------------------------
PLAN_WORKBOOK = "review-plan.xlsx"
SCHEDULE_SHEET = "Schedule"
MONTH_HEADING = "Month"
ID_HEADING = "Contract ID"
MONTH_FORMS = "12/2026, 2026-12, Dec 2026 or December 2026"


def parse_month(text: str) -> dt.date:
    """The first day of a month written 12/2026, 2026-12, Dec 2026 or December 2026 (any case).

    Raises ValueError with a message that says what was wrong and which forms work.
    """
    t = " ".join(str(text).split()).casefold()
    year = month = None
    if m := re.fullmatch(r"(\d{1,2}) ?/ ?(\d{4})", t):
        month, year = int(m[1]), int(m[2])
    elif m := re.fullmatch(r"(\d{4}) ?- ?(\d{1,2})", t):
        year, month = int(m[1]), int(m[2])
    elif (m := re.fullmatch(r"([a-z]+)\.?[ -]?(\d{4})", t)) and m[1] in MONTH_NUMBERS:
        month, year = MONTH_NUMBERS[m[1]], int(m[2])
    if month is None or not 1 <= month <= 12 or not 1900 <= year <= 9999:
        raise ValueError(f"{str(text)!r} is not a month: write it as {MONTH_FORMS}")
    return dt.date(year, month, 1)


@dataclass(frozen=True)
class ScheduleEntry:
    """One row of a plan workbook's Schedule sheet, as it is now."""

    month: dt.date    # first day of the month
    contract_id: str
    row: int          # the worksheet row (1-based), for messages


def _heading(value: object) -> str:
    return " ".join(str(value).split()).casefold() if value is not None else ""


def _cell_month(value: object) -> dt.date:
    """A month from a Schedule cell: a date (as written), an Excel serial number, or text."""
    from ..core.contracts import parse_date

    if isinstance(value, str):
        try:
            return parse_month(value)
        except ValueError:
            pass  # perhaps a whole date typed as text, e.g. 01/12/2026
    return month_start(parse_date(value))


def _cell_id(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an ID typed as a number
    return " ".join(str(value).split()) if value is not None else ""


def read_plan_schedule(path: Path, name: str | None = None) -> list[ScheduleEntry]:
    """Every scheduled review on the Schedule sheet of a plan workbook, in sheet order.

    The sheet is read as the secretariat left it: the header row is found by its
    "Month" and "Contract ID" headings (wherever it is, whatever order the columns are
    in), and every row below it with a contract ID counts, so deleted, added, re-sorted
    and filtered-out rows and months changed by hand are all taken as they are. A row
    without a contract ID (blank, or the "Not scheduled" note) is skipped, and so is a
    contract whose month has been cleared (no longer scheduled). A month that cannot be
    read is an error naming its cell. ``name`` is how the file is named in messages.
    """
    import openpyxl
    from openpyxl.utils import get_column_letter

    name = name or path.name
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001  (zip, XML or permission errors: all mean "cannot read it")
        raise PlanError(f"{name} could not be read as an Excel workbook ({exc.__class__.__name__}: {exc}); "
                        "close it in Excel if it is open, or run 'cmrg plan' to write it again") from None
    try:
        sheet = next((wb[n] for n in wb.sheetnames if n.strip().casefold() == SCHEDULE_SHEET.casefold()), None)
        if sheet is None:
            raise PlanError(f"{name} has no {SCHEDULE_SHEET} sheet (it has: {', '.join(wb.sheetnames)}); "
                            "run 'cmrg plan' to write it again")
        month_col = id_col = None
        entries: list[ScheduleEntry] = []
        for r, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if id_col is None:
                heads = [_heading(v) for v in row]
                if MONTH_HEADING.casefold() in heads and ID_HEADING.casefold() in heads:
                    month_col, id_col = heads.index(MONTH_HEADING.casefold()), heads.index(ID_HEADING.casefold())
                continue
            cid = _cell_id(row[id_col] if id_col < len(row) else None)
            value = row[month_col] if month_col < len(row) else None
            if not cid or value is None or (isinstance(value, str) and not value.strip()):
                continue
            try:
                month = _cell_month(value)
            except ValueError:
                raise PlanError(f"{name}, {SCHEDULE_SHEET}!{get_column_letter(month_col + 1)}{r} (contract {cid}): "
                                f"{value!r} is not a month; write it as {MONTH_FORMS}") from None
            entries.append(ScheduleEntry(month, cid, r))
        if id_col is None:
            raise PlanError(f"{name}: the {SCHEDULE_SHEET} sheet has no header row with the headings "
                            f"'{MONTH_HEADING}' and '{ID_HEADING}'; put them back, or run 'cmrg plan' to write it again")
        return entries
    finally:
        wb.close()


def planned_ids(entries: Iterable[ScheduleEntry], month: dt.date) -> list[str]:
    """The contract IDs scheduled in ``month``, in sheet order, each once (case-insensitively)."""
    seen: set[str] = set()
    out = []
    for e in entries:
        if e.month == month_start(month) and e.contract_id.casefold() not in seen:
            seen.add(e.contract_id.casefold())
            out.append(e.contract_id)
    return out


def schedule_entries(plan: Plan) -> list[ScheduleEntry]:
    """A computed plan's schedule in the same form as :func:`read_plan_schedule` gives."""
    return [ScheduleEntry(r.month, r.contract_id, 0) for r in plan.reviews]
