"""The summary workbook for finance staff and the committee.

:func:`build_summary` turns plain data (:class:`SummaryData`: DataFrames of answers,
issues and submissions, the rating scale, names and today's date) into one xlsxwriter
workbook that opens on its Dashboard. It never reads the register itself;
:func:`load_summary_data` does that through the register's pandas views.

Every number is computed here from the raw answers (cached values in returned workbooks
are never trusted) and written as a value. People's text (titles, suppliers, evidence,
actions) is always written as text, never as a formula or a link.

Scores: a contract's score for an area is the mean of its key-activity scores there, with
Not applicable left out. Averages across contracts give each contract equal weight.

Large tables (the activity heatmap, actions and the Data sheet) are written by
:class:`_BulkRows`: xlsxwriter lays out the sheet (widths, header, table, conditional
formats) and the rows are appended to the sheet's XML in one vectorised pass, because
cell-by-cell writing of 70,000 answers is far too slow for the 3-second budget.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from .. import __version__
from ..core.framework import Scale
from ..kit.files import write_atomic
from ..kit.xlsxwriter_internals import cell_text_xml, format_index
from ..kit.styles import BLUE, DARK_GREY, FONT, GREEN_FILL, GREEN_TEXT, GREY, MID_GREY, MONEY_FORMAT, NAVY, RED_FILL, RED_TEXT, SCORE_FORMAT, Styles, new_workbook, print_setup, wrapped_height, lines_height, text_lines
from ..core.errors import CmrgError

MAX_CELL_TEXT = 32767
MAX_IDS_LISTED = 40
UNCHANGED_WITHIN = 0.05
# Colours of the ratings, worst to best, then Not applicable.
LEVEL_COLOURS = ["#C0504D", "#F4B183", "#FFE699", "#A9D18E", "#548235"]
NA_COLOUR = "#BFBFBF"
CS_LOW, CS_MID, CS_HIGH = "#F8696B", "#FFEB84", "#63BE7B"
SHEETS = ["Dashboard", "Heatmap", "Activity heatmap", "Findings", "Progress", "Actions", "Directorates", "Data"]


class SummaryError(CmrgError):
    """The summary cannot be written (no register data, unknown round, bad settings)."""


# --- inputs and outputs ----------------------------------------------------------------
@dataclass(frozen=True)
class SummarySettings:
    """Thresholds for the findings; ``[summary]`` in cmrg.toml."""

    strength_share: float = 0.75
    issue_share: float = 0.5
    inconsistency_sd: float = 1.2
    evidence_min_chars: int = 20
    top_n: int = 5

    @classmethod
    def from_section(cls, section: dict | None) -> "SummarySettings":
        section = dict(section or {})
        unknown = sorted(set(section) - set(cls.__dataclass_fields__))
        if unknown:
            raise SummaryError(f"cmrg.toml: [summary] {unknown[0]} is not a known setting")
        out = {}
        limits = {
            "strength_share": (float, 0.0, 1.0), "issue_share": (float, 0.0, 1.0),
            "inconsistency_sd": (float, 0.0, 10.0), "evidence_min_chars": (int, 0, 10000), "top_n": (int, 1, 50),
        }
        for key, (kind, low, high) in limits.items():
            if key not in section:
                continue
            value = section[key]
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if kind is int and not isinstance(value, int):
                ok = False
            if not ok or not low <= value <= high:
                raise SummaryError(
                    f"cmrg.toml: [summary] {key} = {value!r} is not valid: use a "
                    f"{'whole number' if kind is int else 'number'} from {low:g} to {high:g}"
                )
            out[key] = kind(value)
        return cls(**out)


@dataclass
class SummaryData:
    """Everything the summary shows, as plain data (no register, no workspace)."""

    answers: pd.DataFrame            # register.ANSWER_COLUMNS, the chosen round, current accepted returns
    all_answers: pd.DataFrame        # the same for every round (for Progress)
    issues: pd.DataFrame             # register.issues_frame (any rounds)
    submissions: pd.DataFrame        # register.submissions_frame (any rounds)
    scale: Scale
    round: str
    council: str = "The Council"
    today: dt.date = field(default_factory=dt.date.today)
    rounds: list[str] = field(default_factory=list)          # rounds in order; default: order in all_answers
    areas: list[tuple[int, str]] | None = None               # (number, name) in framework order
    activities: list[tuple[str, int, str]] | None = None     # (ref, area, statement) in framework order
    framework_label: str = ""


@dataclass
class Finding:
    kind: str            # strength, issue, inconsistency, evidence
    subject: str         # "Area 3: Administration" or "Activity 3.2: ..."
    text: str            # the plain-English sentence
    count: int           # contracts concerned
    total: int           # contracts considered
    contracts: list[str]
    level: str = "area"  # area, activity, contract
    share: float = 0.0


@dataclass
class SummaryResult:
    path: Path
    round: str
    contracts_reviewed: int
    returns_outstanding: int
    annual_value_gbp: float
    strengths: list[Finding]
    issues: list[Finding]
    inconsistencies: list[Finding]
    unsupported: list[Finding]
    progress_contracts: int
    actions: int
    overdue: int
    sheets: list[str]


# --- loading from a workspace ----------------------------------------------------------
def load_summary_data(workspace, round: str | None = None, today: dt.date | None = None) -> SummaryData:
    """Read what the summary needs from the workspace register (default round: the latest
    round with accepted returns)."""
    from .. import register as reg

    conn = reg.open_register(workspace, readonly=True)
    try:
        all_rounds = reg.rounds(conn)
        all_answers = reg.answers_frame(conn)
        if not all_rounds and all_answers.empty:
            raise SummaryError(
                "the register is empty: no workbooks have been issued or returned yet. Issue them with "
                "'cmrg generate --round ROUND', drop the returns into inbox/ and run 'cmrg ingest' first."
            )
        with_returns = [r for r in all_rounds if r in set(all_answers["round"])]
        with_returns += sorted(set(all_answers["round"]) - set(with_returns))
        if round is None:
            if not with_returns:
                raise SummaryError(
                    f"no accepted returns yet in any round ({', '.join(all_rounds)}): drop returned workbooks "
                    "into inbox/ and run 'cmrg ingest' first."
                )
            round = with_returns[-1]
        elif round not in all_rounds and round not in with_returns:
            raise SummaryError(f"round {round!r} is not in the register; rounds: {', '.join(all_rounds) or 'none'}")
        answers = all_answers[all_answers["round"] == round].reset_index(drop=True)
        if answers.empty:
            raise SummaryError(
                f"round {round!r} has no accepted returns yet, so there is nothing to summarise. "
                "Run 'cmrg ingest' once returns arrive" + (
                    f", or choose a round that has them: {', '.join(with_returns)}." if with_returns else ".")
            )
        subs = reg.submissions_frame(conn)
        fw = None
        hashes = subs.loc[(subs["round"] == round) & (subs["outcome"] == "accepted"), "framework_hash"].dropna()
        if len(hashes):
            fw = reg.load_framework(conn, hashes.iloc[-1])
        if fw is None:
            fw = workspace.framework()
        return SummaryData(
            answers=answers, all_answers=all_answers, issues=reg.issues_frame(conn), submissions=subs,
            scale=fw.scale, round=round, council=workspace.config.council_name, today=today or dt.date.today(),
            rounds=all_rounds, areas=[(a.number, a.name) for a in fw.areas],
            activities=[(x.ref, x.area, x.text) for x in fw.activities], framework_label=fw.label,
        )
    finally:
        conn.close()


# --- calculations (pure pandas) --------------------------------------------------------
def _ref_key(ref: str) -> tuple[int, int]:
    a, _, b = str(ref).partition(".")
    return (int(a) if a.isdigit() else 0, int(b) if b.isdigit() else 0)


def _ref_order(refs: pd.Series) -> pd.Series:
    """A sortable number for each activity reference (1.2 before 1.10)."""
    uniq = pd.unique(refs.astype(str))
    key = {r: a * 10000 + b for r, (a, b) in ((r, _ref_key(r)) for r in uniq)}
    return refs.astype(str).map(key)


def contract_area_scores(answers: pd.DataFrame) -> pd.DataFrame:
    """Contracts x areas: the mean score of each contract's activities in each area."""
    return answers.groupby(["contract_id", "area"])["score"].mean().unstack("area")


def activity_scores(answers: pd.DataFrame) -> pd.DataFrame:
    """Contracts x activity references: each contract's score (NaN for Not applicable)."""
    return answers.groupby(["contract_id", "ref"])["score"].mean().unstack("ref")


def contract_overall(answers: pd.DataFrame) -> pd.Series:
    """Each contract's mean over all its rated (not Not applicable) activities."""
    return answers.groupby("contract_id")["score"].mean()


def _good_score(scale: Scale) -> float:
    for lv in scale.levels:
        if "good" in lv.label.casefold():
            return float(lv.score)
    scores = sorted(lv.score for lv in scale.levels)
    return float(scores[len(scores) // 2])


def _name_of(scale: Scale, score: float) -> str:
    return re.sub(r"^\d+\s*", "", scale.label_of(int(score)))


def _above_good(scale: Scale) -> str:
    """The names of the levels above Good ("Better or Best")."""
    good = _good_score(scale)
    names = [_name_of(scale, lv.score) for lv in scale.levels if lv.score > good]
    return " or ".join(names) if 0 < len(names) <= 2 else f"Ratings above {_name_of(scale, good)}"


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%"


def _ids(ids) -> str:
    ids = list(ids)
    if len(ids) <= MAX_IDS_LISTED:
        return ", ".join(ids)
    return ", ".join(ids[:MAX_IDS_LISTED]) + f" and {len(ids) - MAX_IDS_LISTED} more"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def compute_findings(answers: pd.DataFrame, areas: list[tuple[int, str]], activities: list[tuple[str, int, str]],
                     scale: Scale, settings: SummarySettings) -> dict[str, list]:
    """Strengths, issues, inconsistencies and Better/Best ratings without evidence (one
    finding per contract; the ratings themselves under "evidence_rows")."""
    good = _good_score(scale)
    good_name, low_name = _name_of(scale, good), _name_of(scale, good - 1) if good >= 1 else "lower"
    area_scores = contract_area_scores(answers)
    out: dict[str, list[Finding]] = {"strength": [], "issue": [], "inconsistency": [], "evidence": []}
    lowest = _name_of(scale, min(lv.score for lv in scale.levels))

    def judge(subject: str, col: np.ndarray, ids: np.ndarray, level: str, mean_text: str):
        ok = ~np.isnan(col)
        n = int(ok.sum())
        if n == 0:
            return
        values, who = col[ok], ids[ok]
        is_area = level == "area"
        strong = values >= good
        weak = values < (good - 0.5 if is_area else good)
        what = "average" if is_area else "rate this"
        k = int(strong.sum())
        if k / n >= settings.strength_share:
            out["strength"].append(Finding(
                "strength", subject,
                f"{subject} is a strength: {k:,} of {n:,} contracts ({_pct(k / n)}) {what} "
                f"{good_name} or better{mean_text}.",
                k, n, sorted(who[strong].tolist()), level, k / n))
        k = int(weak.sum())
        if k / n >= settings.issue_share:
            lower = f"{low_name} or lower" if is_area else f"{low_name} or {lowest}"
            out["issue"].append(Finding(
                "issue", subject,
                f"{subject} needs attention: {k:,} of {n:,} contracts ({_pct(k / n)}) {what} {lower}{mean_text}.",
                k, n, sorted(who[weak].tolist()), level, k / n))
        if n >= 3:
            sd = float(values.std(ddof=1))
            if sd >= settings.inconsistency_sd:
                # the contracts at each end: within a quarter of the range of the lowest / highest
                lo_v, hi_v = float(values.min()), float(values.max())
                band = (hi_v - lo_v) / 4
                low = sorted(who[values <= lo_v + band].tolist())
                high = sorted(who[values >= hi_v - band].tolist())
                lo, hi = int(values.argmin()), int(values.argmax())
                out["inconsistency"].append(Finding(
                    "inconsistency", subject,
                    f"{subject} is rated very differently across contracts: the spread (standard deviation) is "
                    f"{sd:.1f} points, from {values[lo]:.1f} ({who[lo]}) to {values[hi]:.1f} ({who[hi]}). "
                    f"Lowest: {_ids(low)}. Highest: {_ids(high)}.",
                    len(low) + len(high), n, low + high, level, sd))

    ids = area_scores.index.astype(str).to_numpy(dtype=object)
    for number, name in areas:
        if number in area_scores.columns:
            col = area_scores[number].to_numpy(dtype="float64")
            judge(f"Area {number}, {name}", col, ids, "area", f" (area average {np.nanmean(col):.1f})")
    wide = activity_scores(answers)
    ids = wide.index.astype(str).to_numpy(dtype=object)
    for ref, _area, text in activities:
        if ref in wide.columns:
            judge(f"Activity {ref} ({text.rstrip('.')})", wide[ref].to_numpy(dtype="float64"), ids, "activity", "")
    for key in ("strength", "issue"):
        out[key].sort(key=lambda f: (f.level != "area", -f.share))
    out["inconsistency"].sort(key=lambda f: (f.level != "area", -f.share))

    # Better or Best without (enough) evidence.
    short = unsupported_ratings(answers, scale, settings)
    out["evidence_rows"] = short
    if len(short):
        per = short.groupby("contract_id", sort=True).agg(title=("title", "first"), refs=("ref", ", ".join),
                                                           n=("ref", "size"))
        for cid, title, refs, k in per.itertuples():
            out["evidence"].append(Finding(
                "evidence", f"{cid}, {title}",
                f"{cid} ({title}) claims {_plural(int(k), 'rating')} above {good_name} with no "
                f"evidence or under {settings.evidence_min_chars} characters of it: {refs}.",
                1, 1, [cid], "contract", float(k)))
    return out


def unsupported_ratings(answers: pd.DataFrame, scale: Scale, settings: SummarySettings) -> pd.DataFrame:
    """Ratings above Good whose evidence is missing or shorter than ``evidence_min_chars``,
    in contract and activity order."""
    claimed = answers[(answers["score"] > _good_score(scale)) & ~answers["not_applicable"].astype(bool)]
    # list comprehension: pandas .str methods are several times slower on 20,000+ strings
    lengths = [len(e.strip()) if isinstance(e, str) else 0 for e in claimed["evidence"].tolist()]
    short = claimed[np.asarray(lengths, dtype=int) < settings.evidence_min_chars]
    return short.assign(_k=_ref_order(short["ref"])).sort_values(["contract_id", "_k"]).drop(columns="_k")


def rating_counts(answers: pd.DataFrame, areas: list[tuple[int, str]], scale: Scale) -> pd.DataFrame:
    """Areas x rating labels: how many key-activity ratings of each label."""
    counts = answers.groupby(["area", "rating"]).size().unstack("rating", fill_value=0)
    return counts.reindex(index=[a for a, _ in areas], columns=scale.labels, fill_value=0).fillna(0).astype(int)


def progress_frames(data: SummaryData) -> dict[str, object]:
    """Change between each contract's previous review and this round."""
    allans = data.all_answers
    order = list(dict.fromkeys([*data.rounds, *allans["round"].dropna().unique()]))
    pos = {r: i for i, r in enumerate(order)}
    cur = pos[data.round]
    means = allans.groupby(["contract_id", "round", "area"])["score"].mean().unstack("area")
    overall = allans.groupby(["contract_id", "round"])["score"].mean()
    means["overall"] = overall
    means = means.reset_index()
    means["pos"] = means["round"].map(pos)
    now = means[means["pos"] == cur].set_index("contract_id")
    earlier = means[(means["pos"] < cur) & means["contract_id"].isin(now.index)]
    if earlier.empty:
        return {"contracts": []}
    prev = earlier.sort_values("pos").groupby("contract_id").tail(1).set_index("contract_id").sort_index()
    ids = list(prev.index)
    cols = [a for a, _ in data.areas] + ["overall"]
    before = prev.reindex(columns=cols)
    after = now.loc[ids].reindex(columns=cols)
    delta = _changes(after - before)
    trend_rounds = [r for r in order if pos[r] <= cur]
    sub = means[means["contract_id"].isin(ids) & means["pos"].le(cur)]
    trend = sub.groupby("round")[cols].mean().reindex(trend_rounds).dropna(how="all")
    changes = data.answers[data.answers["contract_id"].isin(ids)]
    change_counts = changes.groupby(["area", "change"]).size().unstack("change", fill_value=0)
    change_counts = change_counts.reindex(index=[a for a, _ in data.areas], columns=["changed", "re-confirmed", "new"],
                                          fill_value=0).fillna(0).astype(int)
    return {"contracts": ids, "before": before, "after": after, "delta": delta, "prev_round": prev["round"],
            "trend": trend, "changes": change_counts}


# --- bulk rows -------------------------------------------------------------------------
_EPOCH = np.datetime64("1899-12-30T00:00:00")


def _xml_text(value: str) -> str:
    """Text for an inline string: XML-escaped, control characters as Excel's _xHHHH_ escapes."""
    if len(value) > MAX_CELL_TEXT:
        value = value[: MAX_CELL_TEXT - 1] + "…"
    return cell_text_xml(value)


def _excel_serial(values: pd.Series) -> np.ndarray:
    """Dates/datetimes as Excel serial numbers (NaN where missing)."""
    s = pd.to_datetime(values, errors="coerce")
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    arr = s.to_numpy(dtype="datetime64[ns]")
    out = (arr - _EPOCH.astype("datetime64[ns]")) / np.timedelta64(1, "D")
    return np.where(pd.isna(s.to_numpy()), np.nan, out)


@dataclass
class _BulkColumn:
    values: object            # sequence
    kind: str                 # text, number, or mixed (numbers plus short text markers such as "n/a")
    fmt: object               # xlsxwriter Format
    text_fmt: object = None   # format of the text markers of a mixed column
    style: int = 0
    text_style: int = 0


class _BulkRows:
    """Rows appended to a worksheet's XML after xlsxwriter has written the rest of it.

    Each column is factorised (pandas), each distinct value turned into its cell XML once,
    and the rows assembled with numpy: no per-cell Python work. Text goes into the shared
    string table (so it is text, never a formula); cells are positional within their
    ``<row r=...>`` (the optional ``r`` attribute of ``<c>`` is left out) and empty cells are
    written as styled blanks to keep the positions. A table over the rows is declared to
    xlsxwriter with one data row (its overlap check visits every cell) and widened here.
    ``heights`` (points, None for the default) gives rows of wrapped text the height to show
    it all: neither Excel nor LibreOffice grows a row of a generated file by itself.
    """

    def __init__(self):
        self.jobs: dict[str, tuple[int, list[_BulkColumn], int, str | None, list | None]] = {}

    def add(self, ws, first_row: int, columns: list[_BulkColumn], table: str | None = None,
            heights: list | None = None) -> None:
        n = len(columns[0].values) if columns else 0
        # Formats get their index now, so xlsxwriter writes them into styles.xml.
        for c in columns:
            c.style = format_index(c.fmt)
            c.text_style = format_index(c.text_fmt) if c.text_fmt is not None else c.style
        self.jobs[ws.name] = (first_row, columns, n, table, heights)

    @staticmethod
    def _cells(col: _BulkColumn, sst: dict[str, int], base: int) -> tuple[np.ndarray, int]:
        """Per row, the cell's XML; and how many shared-string references were made."""
        values = col.values
        if col.kind == "number":
            values = np.asarray(values, dtype="float64")
        else:
            values = np.asarray(values, dtype=object)
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        blank = f'<c s="{col.style}"/>'
        table, is_text = [], []
        for u in list(uniques):
            if u is None or (isinstance(u, float) and u != u) or (isinstance(u, str) and u == ""):
                table.append(blank)
                is_text.append(False)
            elif isinstance(u, str):
                idx = sst.setdefault(u, base + len(sst))
                style = col.text_style if col.kind == "mixed" else col.style
                table.append(f'<c s="{style}" t="s"><v>{idx}</v></c>')
                is_text.append(True)
            else:
                table.append(f'<c s="{col.style}"><v>{float(u):.15g}</v></c>')
                is_text.append(False)
        table.append(blank)
        is_text.append(False)
        refs = int(np.asarray(is_text)[codes].sum())
        return np.asarray(table, dtype=object)[codes], refs

    def _rows_xml(self, first_row: int, columns: list[_BulkColumn], n: int, sst: dict, base: int,
                  heights: list | None = None) -> tuple[str, int]:
        grid = np.empty((n, len(columns) + 2), dtype=object)
        if heights is None:
            grid[:, 0] = [f'<row r="{i}">' for i in range(first_row + 1, first_row + 1 + n)]
        else:
            grid[:, 0] = [f'<row r="{i}">' if h is None else f'<row r="{i}" ht="{h:g}" customHeight="1">'
                          for i, h in zip(range(first_row + 1, first_row + 1 + n), heights)]
        refs = 0
        for j, col in enumerate(columns):
            grid[:, 1 + j], k = self._cells(col, sst, base)
            refs += k
        grid[:, -1] = "</row>"
        return "".join(grid.ravel().tolist()), refs

    def apply(self, xlsx: bytes, sheet_names: list[str]) -> bytes:
        """The workbook with the bulk rows inserted into their sheets and tables widened."""
        import io

        src = zipfile.ZipFile(io.BytesIO(xlsx))
        names = set(src.namelist())
        # every summary sheet has a title, so xlsxwriter always writes a shared string table
        sst_xml = src.read("xl/sharedStrings.xml").decode("utf-8")
        m = re.search(r'count="(\d+)" uniqueCount="(\d+)"', sst_xml or "")
        count, base = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        sst: dict[str, int] = {}
        replaced: dict[str, bytes] = {}
        for name, (first_row, columns, n, table, heights) in self.jobs.items():
            if not n:
                continue
            part = f"xl/worksheets/sheet{sheet_names.index(name) + 1}.xml"
            xml = src.read(part).decode("utf-8")
            body, refs = self._rows_xml(first_row, columns, n, sst, base, heights)
            count += refs
            # xlsxwriter wrote only the rows above first_row; drop any it wrote at first_row
            xml = re.sub(rf'<row r="{first_row + 1}"[^>]*?(?:/>|>.*?</row>)', "", xml, count=1, flags=re.S)
            last = xl_rowcol_to_cell(first_row + n - 1, max(len(columns) - 1, 0))
            dim = re.search(r'<dimension ref="([A-Z]+\d+)(?::[A-Z]+\d+)?"/>', xml)
            if dim:
                xml = xml[: dim.start()] + f'<dimension ref="{dim.group(1)}:{last}"/>' + xml[dim.end():]
            if "<sheetData/>" in xml:
                xml = xml.replace("<sheetData/>", f"<sheetData>{body}</sheetData>", 1)
            else:
                i = xml.index("</sheetData>")
                xml = xml[:i] + body + xml[i:]
            replaced[part] = xml.encode("utf-8")
        tables = {job[3]: job for job in self.jobs.values() if job[3] and job[2]}
        for part in names:
            if part.startswith("xl/tables/") and part.endswith(".xml"):
                xml = src.read(part).decode("utf-8")
                tname = re.search(r' name="([^"]+)"', xml)
                job = tables.get(tname.group(1)) if tname else None
                if job is not None:
                    end = job[0] + job[2]
                    xml = re.sub(r'ref="([A-Z]+)(\d+):([A-Z]+)\d+"', rf'ref="\1\2:\g<3>{end}"', xml)
                    replaced[part] = xml.encode("utf-8")
        if sst:
            items = []
            for text in sst:  # insertion order = index order
                t = _xml_text(text)
                sp = ' xml:space="preserve"' if t != t.strip() else ""
                items.append(f"<si><t{sp}>{t}</t></si>")
            total = base + len(sst)
            head = re.sub(r'count="\d+" uniqueCount="\d+"', f'count="{count}" uniqueCount="{total}"', sst_xml, count=1)
            if head.endswith("</sst>"):
                head = head[: -len("</sst>")]
            else:  # an empty table written as <sst .../>
                head = head.rstrip().removesuffix("/>") + ">"
            replaced["xl/sharedStrings.xml"] = (head + "".join(items) + "</sst>").encode("utf-8")
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = replaced.get(info.filename) or src.read(info.filename)
                zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                zi.compress_type = zipfile.ZIP_DEFLATED
                dst.writestr(zi, data, compresslevel=1 if len(data) > 1_000_000 else 6)
        return out.getvalue()


# --- the workbook ----------------------------------------------------------------------
class _Fmt:
    """The summary's formats, made once per workbook (never per cell)."""

    def __init__(self, wb):
        st = Styles(wb)
        self.st = st
        base = {"font_name": FONT, "font_size": 11, "valign": "top"}
        border = {"border": 1, "border_color": MID_GREY}
        add = lambda **kw: wb.add_format({**base, **kw})  # noqa: E731
        self.title, self.subtitle, self.heading, self.note = st.title, st.subtitle, st.heading, st.note
        self.header = st.header
        self.header_c = add(bold=True, font_color="#FFFFFF", bg_color=NAVY, text_wrap=True, valign="vcenter",
                            align="center", **border)
        self.cell = st.cell
        self.cell_nowrap = add(**border)
        self.cell_money = st.cell_money
        self.cell_date = st.cell_date
        self.cell_datetime = add(num_format="dd/mm/yyyy hh:mm", align="left", **border)
        self.cell_score = st.cell_score
        self.cell_int = add(num_format="#,##0", align="center", **border)
        self.cell_center = add(align="center", **border)
        self.cell_na = add(align="center", italic=True, font_color=DARK_GREY, **border)
        self.cell_pct = add(num_format="0%", align="center", **border)
        # Changes are written rounded to 2 places (see _changes), so no tiny fall shows as "-0.00".
        self.cell_delta = add(num_format="+0.00;-0.00;0.00", align="center", **border)
        self.cell_bold = add(bold=True, text_wrap=True, **border)
        self.cell_score_bold = add(bold=True, num_format=SCORE_FORMAT, align="center", **border)
        self.kpi = add(bold=True, font_size=22, font_color=NAVY, num_format="#,##0", align="left", valign="bottom")
        self.kpi_money = add(bold=True, font_size=22, font_color=NAVY, num_format=MONEY_FORMAT, align="left",
                             valign="bottom")
        self.kpi_money_m = add(bold=True, font_size=22, font_color=NAVY, num_format='£#,##0.0,,"m"', align="left",
                               valign="bottom")
        self.kpi_score = add(bold=True, font_size=22, font_color=NAVY, num_format='0.0" of 4"', align="left",
                             valign="bottom")
        self.kpi_label = add(font_color=DARK_GREY, valign="top")
        self.kpi_alert = add(bold=True, font_size=22, font_color=RED_TEXT, num_format="#,##0", align="left",
                             valign="bottom")
        self.bullet = add(text_wrap=True, valign="top")
        self.finding_kind = {
            "strength": add(bold=True, bg_color=GREEN_FILL, font_color=GREEN_TEXT, **border),
            "issue": add(bold=True, bg_color=RED_FILL, font_color=RED_TEXT, **border),
            "inconsistency": add(bold=True, bg_color="#FFEB9C", font_color="#9C5700", **border),
            "evidence": add(bold=True, bg_color=GREY, font_color=DARK_GREY, **border),
        }
        self.section = add(bold=True, font_size=13, font_color=NAVY, bottom=2, bottom_color=BLUE)
        self.cf_good = st.cf_good
        self.cf_bad = st.cf_bad
        self.cf_same = wb.add_format({"bg_color": GREY, "font_color": DARK_GREY})


def _colour_scale(ws, first_row, first_col, last_row, last_col, scale: Scale) -> None:
    scores = [lv.score for lv in scale.levels]
    ws.conditional_format(first_row, first_col, last_row, last_col, {
        "type": "3_color_scale",
        "min_type": "num", "min_value": min(scores), "min_color": CS_LOW,
        "mid_type": "num", "mid_value": (min(scores) + max(scores)) / 2, "mid_color": CS_MID,
        "max_type": "num", "max_value": max(scores), "max_color": CS_HIGH,
    })


def _changes(values):
    """Changes in average score, rounded to the 2 places shown, with -0.0 made 0.0: a fall too small
    to show reads 0.00, not -0.00 (number formats cannot hide a minus sign on a rounded zero)."""
    return values.round(2) + 0.0 if hasattr(values, "round") else round(values, 2) + 0.0


def _write_scores(ws, row: int, col: int, values, fmt, na_fmt, na_text: str = "n/a") -> None:
    for j, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            ws.write_string(row, col + j, na_text, na_fmt)
        else:
            ws.write_number(row, col + j, float(v), fmt)


def _wrapped_heights(*columns: tuple[list, float]) -> list[float | None]:
    """Per row, the height that shows every line of the wrapped text columns (values, width);
    None where it all fits on one line, so the row keeps the default height."""
    n = len(columns[0][0]) if columns else 0
    out: list[float | None] = []
    for i in range(n):
        out.append(wrapped_height(*[(str(values[i]), width) for values, width in columns]))
    return out


def _text_height(text: str, chars_per_line: float) -> float:
    """The height of a merged range of wrapped text (the house estimate; a little room below)."""
    return lines_height(text_lines(str(text), chars_per_line)) + 2


def build_summary(data: SummaryData, settings: SummarySettings | None, out_path) -> SummaryResult:
    """Write the summary workbook for ``data`` to ``out_path``."""
    settings = settings or SummarySettings()
    ans = data.answers
    if ans is None or ans.empty:
        raise SummaryError(
            f"round {data.round!r} has no accepted returns yet, so there is nothing to summarise. "
            "Run 'cmrg ingest' once returns arrive."
        )
    ans = ans.copy()
    ans["not_applicable"] = ans["not_applicable"].astype(bool)
    ans["score"] = pd.to_numeric(ans["score"], errors="coerce")
    ans["area"] = ans["area"].astype(int)
    if data.areas is None:
        data.areas = sorted({(int(a), str(n)) for a, n in zip(ans["area"], ans["area_name"])})
    if data.activities is None:
        acts = ans.drop_duplicates("ref")[["ref", "area", "activity"]]
        data.activities = sorted(((r, int(a), str(t)) for r, a, t in acts.itertuples(index=False)),
                                 key=lambda x: _ref_key(x[0]))
    if data.all_answers is None or data.all_answers.empty:
        data.all_answers = ans
    else:
        data.all_answers = data.all_answers.copy()
        data.all_answers["area"] = data.all_answers["area"].astype(int)
        data.all_answers["score"] = pd.to_numeric(data.all_answers["score"], errors="coerce")
    data.answers = ans
    present = set(ans["area"])
    data.areas = [a for a in data.areas if a[0] in present] or data.areas
    present_refs = set(ans["ref"])
    data.activities = [a for a in data.activities if a[0] in present_refs]

    out_path = Path(out_path)
    wb, buffer = new_workbook(None)
    wb.set_properties({
        "title": f"Contract management review summary, round {data.round}",
        "subject": "Summary of contract owners' self-assessments against the NAO good practice framework",
        "author": data.council, "company": data.council, "comments": f"Written by cmrg-excel {__version__}",
    })
    wb.set_calc_mode("auto")
    fm = _Fmt(wb)
    bulk = _BulkRows()
    footer = f"{data.council} | Contract management review | round {data.round} | produced {data.today:%d/%m/%Y}"
    sheets = {name: wb.add_worksheet(name) for name in SHEETS}
    for ws in sheets.values():
        ws.hide_gridlines(2)
        ws.set_zoom(90)

    # shared calculations
    info = (ans.drop_duplicates("contract_id").set_index("contract_id")
            [["title", "directorate", "supplier", "annual_value_gbp", "risk", "owner_name"]].sort_index())
    area_scores = contract_area_scores(ans).reindex(index=info.index, columns=[a for a, _ in data.areas])
    overall = contract_overall(ans).reindex(info.index)
    findings = compute_findings(ans, data.areas, data.activities, data.scale, settings)
    counts = rating_counts(ans, data.areas, data.scale)
    outstanding = _outstanding(data, set(info.index))
    progress = progress_frames(data)
    actions = _actions_frame(ans, data.today)

    _dashboard(sheets["Dashboard"], fm, wb, data, settings, info, area_scores, overall, counts, findings,
               outstanding, actions, footer)
    _heatmap(sheets["Heatmap"], fm, bulk, data, info, area_scores, overall, footer)
    _activity_heatmap(sheets["Activity heatmap"], fm, bulk, data, info, footer)
    _findings(sheets["Findings"], fm, bulk, data, settings, findings, outstanding, footer)
    _progress(sheets["Progress"], fm, wb, bulk, data, info, progress, footer)
    _actions(sheets["Actions"], fm, bulk, data, actions, footer)
    _directorates(sheets["Directorates"], fm, data, info, area_scores, overall, footer)
    _data_sheet(sheets["Data"], fm, bulk, data, footer)
    sheets["Dashboard"].activate()
    sheets["Dashboard"].set_first_sheet()

    wb.close()
    payload = bulk.apply(buffer.getvalue(), SHEETS)
    write_atomic(out_path, payload, durable=False)  # made again by running it again
    return SummaryResult(
        path=out_path, round=data.round, contracts_reviewed=len(info), returns_outstanding=len(outstanding),
        annual_value_gbp=float(info["annual_value_gbp"].fillna(0).sum()),
        strengths=findings["strength"], issues=findings["issue"], inconsistencies=findings["inconsistency"],
        unsupported=findings["evidence"], progress_contracts=len(progress["contracts"]), actions=len(actions),
        overdue=int((actions["status"] == "Overdue").sum()) if len(actions) else 0, sheets=list(SHEETS),
    )


def _outstanding(data: SummaryData, reviewed: set[str]) -> list[str]:
    iss = data.issues
    if iss is None or iss.empty or "round" not in iss:
        return []
    open_ = iss[(iss["round"] == data.round) & (iss.get("status", "issued") == "issued")]
    return sorted(set(open_["contract_id"]) - reviewed)


def _actions_frame(ans: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    has = np.asarray([isinstance(a, str) and a.strip() != "" for a in ans["action"].tolist()], dtype=bool)
    act = ans[has].copy()
    if act.empty:
        act["status"] = pd.Series(dtype="object")
        return act
    target = pd.to_datetime(act["target_date"], errors="coerce")
    act["target_date"] = target
    overdue = target < pd.Timestamp(today)
    act["status"] = np.where(target.isna(), "No target date", np.where(overdue, "Overdue", "Open"))
    act["_order"] = np.select([overdue, target.notna()], [0, 1], 2)
    act["_refkey"] = _ref_order(act["ref"])
    return act.sort_values(["_order", "target_date", "contract_id", "_refkey"]).drop(columns=["_order", "_refkey"])


# --- Dashboard -------------------------------------------------------------------------
def _dashboard(ws, fm, wb, data, settings, info, area_scores, overall, counts, findings, outstanding, actions, footer):
    labels = data.scale.labels
    n_areas = len(data.areas)
    ws.set_column(0, 0, 5)
    ws.set_column(1, 1, 30)
    ws.set_column(2, 2, 11)
    ws.set_column(3, 2 + len(labels), 10.5)
    last_col = 2 + len(labels)
    ws.set_column(last_col + 1, last_col + 1, 2)
    ws.set_column(last_col + 2, last_col + 12, 9)
    ws.set_row(0, 26)
    ws.write_string(0, 0, f"Contract management review: summary of round {data.round}", fm.title)
    ws.write_string(1, 0, f"{data.council}. Produced {data.today:%d/%m/%Y} from the returns accepted so far. "
                          f"Ratings run from {labels[0]} to {data.scale.levels[-1].label} against the NAO good "
                          "practice contract management framework.", fm.subtitle)

    value = float(info["annual_value_gbp"].fillna(0).sum())
    ws.set_row(3, 32)
    kpis = [
        (0, 1, len(info), fm.kpi, "contracts reviewed"),
        (2, 3, len(outstanding), fm.kpi_alert if outstanding else fm.kpi, "returns outstanding"),
        (4, 5, value, fm.kpi_money_m if value >= 1_000_000 else fm.kpi_money, "annual value covered"),
        (6, last_col, float(overall.mean()) if overall.notna().any() else 0.0, fm.kpi_score,
         "average maturity (all areas)"),
    ]
    for c1, c2, v, f, label in kpis:
        ws.merge_range(3, c1, 3, c2, None, f)
        ws.write_number(3, c1, v, f)
        ws.merge_range(4, c1, 4, c2, label, fm.kpi_label)

    top = 6
    ws.write_string(top, 0, "Average maturity by area", fm.section)
    for c in range(1, last_col + 1):
        ws.write_blank(top, c, None, fm.section)
    hdr = top + 1
    ws.set_row(hdr, 32)
    ws.write_row(hdr, 0, ["Area", "Name", "Average score"], fm.header_c)
    ws.write_row(hdr, 3, labels, fm.header_c)
    first = hdr + 1
    for i, (number, name) in enumerate(data.areas):
        r = first + i
        ws.write_number(r, 0, number, fm.cell_center)
        ws.write_string(r, 1, name, fm.cell_nowrap)
        avg = area_scores[number].mean() if number in area_scores else float("nan")
        _write_scores(ws, r, 2, [avg], fm.cell_score_bold, fm.cell_na)
        ws.write_row(r, 3, [int(x) for x in counts.loc[number].tolist()], fm.cell_int)
    last = first + n_areas - 1
    _colour_scale(ws, first, 2, last, 2, data.scale)
    ws.merge_range(last + 1, 0, last + 1, last_col,
                   "Average score: each contract's mean for the area (Not applicable left out), averaged over "
                   "contracts. Other columns: how many key-activity ratings of each kind.", fm.note)
    ws.set_row(last + 1, 30)

    # strengths and issues in words
    width_chars = 5 + 30 + 11 + 10.5 * len(labels)
    row = last + 3

    def block(title, items, empty):
        nonlocal row
        ws.write_string(row, 0, title, fm.section)
        for c in range(1, last_col + 1):
            ws.write_blank(row, c, None, fm.section)
        row += 1
        lines = [f"\u2022 {f.text}" for f in items[: settings.top_n]] or [empty]
        for text in lines:
            ws.merge_range(row, 0, row, last_col, text, fm.bullet)
            ws.set_row(row, _text_height(text, width_chars * 1.2))
            row += 1
        row += 1

    best_area = area_scores.mean().idxmax() if area_scores.notna().any().any() else None
    worst_area = area_scores.mean().idxmin() if area_scores.notna().any().any() else None
    names = dict(data.areas)
    block("Top strengths", findings["strength"],
          f"No area or activity reached the strength threshold ({_pct(settings.strength_share)} of contracts at "
          f"{_name_of(data.scale, _good_score(data.scale))} or better)."
          + (f" The highest-rated area is {names[best_area]} (average {area_scores[best_area].mean():.1f})."
             if best_area is not None else ""))
    block("Top issues to address", findings["issue"],
          f"No area or activity reached the issue threshold ({_pct(settings.issue_share)} of contracts below "
          f"{_name_of(data.scale, _good_score(data.scale))})."
          + (f" The lowest-rated area is {names[worst_area]} (average {area_scores[worst_area].mean():.1f})."
             if worst_area is not None else ""))
    overdue = int((actions["status"] == "Overdue").sum()) if len(actions) else 0
    more = (f"Also: {_plural(len(findings['inconsistency']), 'area or activity', 'areas or activities')} rated very "
            f"differently across contracts; {_plural(len(findings['evidence']), 'contract')} claiming Better or Best "
            f"without evidence; {_plural(len(actions), 'improvement action')} ({overdue:,} overdue). "
            "See the Findings, Actions and Heatmap sheets for the detail.")
    ws.merge_range(row, 0, row, last_col, more, fm.note)
    ws.set_row(row, _text_height(more, width_chars * 1.2))
    end_row = row

    # charts, to the right of the table
    cats = ["Dashboard", first, 1, last, 1]
    c1 = wb.add_chart({"type": "bar"})
    c1.add_series({
        "name": "Average score", "categories": cats, "values": ["Dashboard", first, 2, last, 2],
        "fill": {"color": BLUE}, "gap": 60,
        "data_labels": {"value": True, "num_format": "0.0", "font": {"size": 9}},
    })
    c1.set_title({"name": "Average maturity by area", "name_font": {"size": 12, "bold": True, "color": NAVY}})
    c1.set_x_axis({"min": 0, "max": data.scale.max_score, "major_unit": 1, "num_format": "0",
                   "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}, "num_font": {"size": 9}})
    c1.set_y_axis({"reverse": True, "crossing": "max", "num_font": {"size": 9}})
    c1.set_legend({"none": True})
    c1.set_size({"width": 620, "height": 290})
    c1.set_chartarea({"border": {"color": MID_GREY}})
    ws.insert_chart(top, last_col + 2, c1, {"x_offset": 4, "y_offset": 0})

    c2 = wb.add_chart({"type": "bar", "subtype": "percent_stacked"})
    colours = LEVEL_COLOURS[: len(data.scale.levels)]
    if len(colours) < len(data.scale.levels):
        colours = colours + [BLUE] * (len(data.scale.levels) - len(colours))
    for j, colour in enumerate([*colours, NA_COLOUR]):
        c2.add_series({
            "name": ["Dashboard", hdr, 3 + j], "categories": cats, "values": ["Dashboard", first, 3 + j, last, 3 + j],
            "fill": {"color": colour}, "border": {"color": "#FFFFFF"}, "gap": 50, "overlap": 100,
        })
    c2.set_title({"name": "How the key activities were rated, by area",
                  "name_font": {"size": 12, "bold": True, "color": NAVY}})
    c2.set_x_axis({"num_format": "0%", "num_font": {"size": 9},
                   "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    c2.set_y_axis({"reverse": True, "crossing": "max", "num_font": {"size": 9}})
    c2.set_legend({"position": "bottom", "font": {"size": 9}})
    c2.set_size({"width": 620, "height": 330})
    c2.set_chartarea({"border": {"color": MID_GREY}})
    ws.insert_chart(top, last_col + 2, c2, {"x_offset": 4, "y_offset": 305})

    ws.print_area(0, 0, max(end_row, top + 33), last_col + 11)
    print_setup(ws, left_footer=footer)
    ws.fit_to_pages(1, 1)
    ws.center_horizontally()


# --- Heatmap ---------------------------------------------------------------------------
def _area_header(number: int, name: str) -> str:
    return f"{number} {name}"


def _na_column(values: pd.Series, fmt, na_fmt) -> _BulkColumn:
    """Scores, with n/a (text) where there is none."""
    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    if np.isnan(arr).any():
        return _BulkColumn(np.where(np.isnan(arr), "n/a", arr.astype(object)).tolist(), "mixed", fmt, na_fmt)
    return _BulkColumn(arr, "number", fmt)


def _heatmap(ws, fm, bulk, data, info, area_scores, overall, footer):
    ws.write_string(0, 0, f"Heatmap: average score by contract and area, round {data.round}", fm.title)
    ws.write_string(1, 0, "Each cell is the contract's mean rating for the area (0 Not in place to "
                          f"{data.scale.max_score} {_name_of(data.scale, data.scale.max_score)}); n/a means every "
                          "activity was Not applicable. Red is weak, yellow mid-way, green strong. Use the filter "
                          "buttons to pick a directorate or risk level.", fm.subtitle)
    hdr = 3
    fixed = ["Contract ID", "Title", "Directorate", "Supplier", "Annual value (£)", "Risk"]
    area_cols = [_area_header(a, n) for a, n in data.areas]
    headers = fixed + area_cols + ["Overall"]
    widths = [12, 30, 30, 24, 15, 9] + [15] * len(area_cols) + [10]
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    ws.set_row(hdr, 48)
    n = len(info)
    first = hdr + 1
    last = hdr + n
    s0 = len(fixed)
    ws.add_table(hdr, 0, hdr + 1, len(headers) - 1, {  # widened by _BulkRows
        "name": "Heatmap", "style": "Table Style Light 1", "autofilter": True,
        "columns": [{"header": h, "header_format": fm.header_c} for h in headers],
    })
    titles, directorates, suppliers = (info[c].astype(str).tolist() for c in ("title", "directorate", "supplier"))
    cols = [
        _BulkColumn(info.index.astype(str).tolist(), "text", fm.cell_nowrap),
        _BulkColumn(titles, "text", fm.cell),
        _BulkColumn(directorates, "text", fm.cell),
        _BulkColumn(suppliers, "text", fm.cell),
        _BulkColumn(pd.to_numeric(info["annual_value_gbp"], errors="coerce").to_numpy(), "number", fm.cell_money),
        _BulkColumn(info["risk"].astype(str).tolist(), "text", fm.cell_center),
    ]
    for number, _name in data.areas:
        cols.append(_na_column(area_scores[number], fm.cell_score, fm.cell_na))
    cols.append(_na_column(overall, fm.cell_score_bold, fm.cell_na))
    bulk.add(ws, first, cols, table="Heatmap",
             heights=_wrapped_heights((titles, widths[1]), (directorates, widths[2]), (suppliers, widths[3])))
    _colour_scale(ws, first, s0, last, s0 + len(area_cols), data.scale)
    ws.freeze_panes(first, 2)
    print_setup(ws, repeat_to_row=hdr, left_footer=footer)
    ws.repeat_columns(0, 1)


def _activity_heatmap(ws, fm, bulk, data, info, footer):
    ans = data.answers
    refs = [r for r, _a, _t in data.activities]
    ws.write_string(0, 0, f"Activity heatmap: each contract's rating of each key activity, round {data.round}",
                    fm.title)
    ws.write_string(1, 0, "Columns are key activities (area.number); hover over a heading for its statement, or see "
                          "the Data sheet. n/a: Not applicable. Red is weak, green strong.", fm.subtitle)
    hdr = 3
    ws.set_column(0, 0, 12)
    ws.set_column(1, 1, 30)
    ws.set_column(2, 1 + len(refs), 5.2)
    # area names over the first activity of each area
    seen = set()
    for j, (ref, area, text) in enumerate(data.activities):
        if area not in seen:
            seen.add(area)
            ws.write_string(hdr - 1, 2 + j, _area_header(area, dict(data.areas).get(area, "")), fm.heading)
    headers = ["Contract ID", "Title"] + refs
    ws.set_row(hdr, 20)
    ws.add_table(hdr, 0, hdr + 1, len(headers) - 1, {  # widened by _BulkRows
        "name": "ActivityHeatmap", "style": "Table Style Light 1", "autofilter": True,
        "columns": [{"header": h, "header_format": fm.header_c} for h in headers],
    })
    for j, (ref, area, text) in enumerate(data.activities):
        ws.write_comment(hdr, 2 + j, f"{ref} {text}", {"x_scale": 2, "y_scale": 1.2, "font_size": 9})
    wide = activity_scores(ans).reindex(index=info.index, columns=refs)
    titles = info["title"].astype(str).tolist()
    cols = [_BulkColumn(info.index.astype(str).tolist(), "text", fm.cell_nowrap),
            _BulkColumn(titles, "text", fm.cell)]
    cols += [_na_column(wide[ref], fm.cell_score, fm.cell_na) for ref in refs]
    bulk.add(ws, hdr + 1, cols, table="ActivityHeatmap", heights=_wrapped_heights((titles, 30)))
    _colour_scale(ws, hdr + 1, 2, hdr + len(info), 1 + len(refs), data.scale)
    ws.freeze_panes(hdr + 1, 2)
    print_setup(ws, repeat_to_row=hdr, left_footer=footer)
    ws.set_paper(8)  # A3: seventy activity columns
    ws.repeat_columns(0, 1)


# --- Findings --------------------------------------------------------------------------
def _findings(ws, fm, bulk, data, settings, findings, outstanding, footer):
    good = _good_score(data.scale)
    good_name = _name_of(data.scale, good)
    ws.set_column(0, 0, 16)
    ws.set_column(1, 1, 34)
    ws.set_column(2, 2, 70)
    ws.set_column(3, 3, 11)
    ws.set_column(4, 4, 48)
    ws.write_string(0, 0, f"Findings, round {data.round}", fm.title)
    n = data.answers["contract_id"].nunique()
    intro = (f"Written from the {n:,} contract returns accepted for round {data.round}. Thresholds (set in cmrg.toml, "
             f"[summary]): a strength when at least {_pct(settings.strength_share)} of contracts are at {good_name} or "
             f"better; an issue when at least {_pct(settings.issue_share)} are below {good_name}; inconsistent when "
             f"the spread (standard deviation) across contracts is {settings.inconsistency_sd:g} points or more; "
             f"evidence is missing when a rating above {good_name} has fewer than {settings.evidence_min_chars} "
             "characters of it. For an area, a contract's average over the area's activities is used.")
    ws.merge_range(1, 0, 1, 4, intro, fm.note)
    ws.set_row(1, _text_height(intro, 185))
    row = 3
    if outstanding:
        text = (f"{_plural(len(outstanding), 'workbook')} issued for this round "
                f"{'has' if len(outstanding) == 1 else 'have'} not been returned yet: {_ids(outstanding)}.")
        ws.merge_range(row, 0, row, 4, text, fm.note)
        ws.set_row(row, _text_height(text, 185))
        row += 2
    sections = [
        ("strength", "Strengths", "No area or activity meets the strength threshold."),
        ("issue", "Issues to address", "No area or activity meets the issue threshold."),
        ("inconsistency", "Inconsistent practice across contracts", "No area or activity is rated very differently "
                                                                       "across contracts."),
        ("evidence", f"{_above_good(data.scale)} claimed without evidence", "Every rating above Good has evidence."),
    ]
    kind_label = {"strength": "Strength", "issue": "Issue", "inconsistency": "Inconsistent", "evidence": "No evidence"}
    for kind, title, empty in sections:
        items = findings[kind]
        ws.write_string(row, 0, f"{title} ({len(items)})", fm.section)
        for c in range(1, 5):
            ws.write_blank(row, c, None, fm.section)
        row += 1
        if not items:
            ws.merge_range(row, 0, row, 4, empty, fm.note)
            row += 2
            continue
        ws.write_row(row, 0, ["Finding", "About", "What we found", "Contracts",
                              "Contracts concerned" if kind != "inconsistency" else "Lowest and highest contracts"],
                     fm.header)
        row += 1
        for f in items:
            ids = _ids(f.contracts)
            ws.set_row(row, max(_text_height(f.subject, 34 * 1.35), _text_height(f.text, 70 * 1.35),
                                _text_height(ids, 48 * 1.35)))
            ws.write_string(row, 0, kind_label[kind], fm.finding_kind[kind])
            ws.write_string(row, 1, f.subject, fm.cell)
            ws.write_string(row, 2, f.text, fm.cell)
            if kind == "evidence":
                ws.write_number(row, 3, int(f.share), fm.cell_int)
            else:
                ws.write_number(row, 3, f.count, fm.cell_int)
            ws.write_string(row, 4, ids, fm.cell)
            row += 1
        if kind == "evidence":
            ws.write_string(row, 3, "ratings", fm.note)
        row += 1
    # the detail of unsupported ratings
    short = findings["evidence_rows"]
    if len(short):
        ws.write_string(row, 0, f"{_above_good(data.scale)} without enough evidence, one by one", fm.section)
        for c in range(1, 5):
            ws.write_blank(row, c, None, fm.section)
        row += 1
        ws.write_row(row, 0, ["Contract ID", "Activity", "Statement", "Rating", "Evidence given"], fm.header)
        row += 1
        ev = short["evidence"].astype(object).where(short["evidence"].notna(), "").astype(str)
        statements = short["activity"].astype(str).tolist()
        given = np.where(ev.str.strip() == "", "(none)", ev).tolist()
        bulk.add(ws, row, [
            _BulkColumn(short["contract_id"].astype(str).tolist(), "text", fm.cell_nowrap),
            _BulkColumn(short["ref"].astype(str).tolist(), "text", fm.cell_nowrap),
            _BulkColumn(statements, "text", fm.cell),
            _BulkColumn(short["rating"].astype(str).tolist(), "text", fm.cell_nowrap),
            _BulkColumn(given, "text", fm.cell),
        ], heights=_wrapped_heights((statements, 70), (given, 48)))
    print_setup(ws, left_footer=footer)


# --- Progress --------------------------------------------------------------------------
def _progress(ws, fm, wb, bulk, data, info, progress, footer):
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, 30)
    ws.set_column(2, 2, 36)  # directorate names on one line in the per-contract table
    ws.set_column(3, 3 + len(data.areas) + 1, 14)
    ws.write_string(0, 0, f"Progress: contracts reviewed before, round {data.round}", fm.title)
    ids = progress["contracts"]
    if not ids:
        ws.write_string(2, 0, f"No contract in round {data.round} was reviewed in an earlier round, so there is no "
                              "change to show yet. This sheet fills in when contracts are reviewed again.", fm.note)
        print_setup(ws, left_footer=footer)
        return
    cols = [a for a, _ in data.areas]
    delta, before, after = progress["delta"], progress["before"], progress["after"]
    note = (f"{_plural(len(ids), 'contract')} reviewed in round {data.round} had an earlier review. Change is this "
            "round's average minus the previous review's, area by area: green improved, red declined, grey "
            f"unchanged (less than {UNCHANGED_WITHIN} points either way).")
    ws.merge_range(1, 0, 1, 3 + len(cols), note, fm.note)
    ws.set_row(1, _text_height(note, 150))

    # 1. change by area
    row = 3
    ws.write_string(row, 0, "Change by area", fm.section)
    row += 1
    ws.set_row(row, 32)
    ws.write_row(row, 0, ["Area", "Name", "Contracts compared", "Improved", "Unchanged", "Declined", "Average before",
                          "Average now", "Change"], fm.header_c)
    row += 1
    first_delta = row
    for key in cols + ["overall"]:
        d = delta[key].dropna()
        name = dict(data.areas).get(key, "All areas") if key != "overall" else "All areas"
        ws.write_string(row, 0, str(key) if key != "overall" else "All", fm.cell_center)
        ws.write_string(row, 1, name, fm.cell_bold if key == "overall" else fm.cell_nowrap)
        ws.write_row(row, 2, [len(d), int((d >= UNCHANGED_WITHIN).sum()), int((d.abs() < UNCHANGED_WITHIN).sum()),
                              int((d <= -UNCHANGED_WITHIN).sum())], fm.cell_int)
        b, a = before[key].mean(), after[key].mean()
        _write_scores(ws, row, 6, [b, a], fm.cell_score, fm.cell_na)
        _write_scores(ws, row, 8, [_changes(a - b) if pd.notna(a) and pd.notna(b) else float("nan")], fm.cell_delta,
                      fm.cell_na)
        row += 1
    _delta_colours(ws, fm, first_delta, 8, row - 1, 8)

    # 2. trend
    row += 1
    ws.write_string(row, 0, "Trend: average score of these contracts in each round", fm.section)
    row += 1
    trend = progress["trend"]
    ws.set_row(row, 48)
    ws.write_string(row, 0, "Round", fm.header_c)
    ws.write_string(row, 1, "", fm.header_c)
    ws.write_string(row, 2, "Contracts", fm.header_c)
    ws.write_row(row, 3, [_area_header(a, n) for a, n in data.areas] + ["All areas"], fm.header_c)
    trend_hdr = row
    row += 1
    trend_first = row
    contracts_in = data.all_answers[data.all_answers["contract_id"].isin(ids)].groupby("round")["contract_id"].nunique()
    for rnd, rec in trend.iterrows():
        ws.write_string(row, 0, str(rnd), fm.cell_bold)
        ws.write_blank(row, 1, None, fm.cell)
        ws.write_number(row, 2, int(contracts_in.get(rnd, 0)), fm.cell_int)
        _write_scores(ws, row, 3, rec.tolist(), fm.cell_score, fm.cell_na)
        row += 1
    trend_last = row - 1
    chart = wb.add_chart({"type": "column"})
    palette = [MID_GREY, "#8FAADC", BLUE, NAVY, "#2E75B6", "#9DC3E6"]
    n_tr = trend_last - trend_first + 1
    for k, r in enumerate(range(trend_first, trend_last + 1)):
        chart.add_series({
            "name": ["Progress", r, 0], "categories": ["Progress", trend_hdr, 3, trend_hdr, 2 + len(cols)],
            "values": ["Progress", r, 3, r, 2 + len(cols)],
            "fill": {"color": palette[(k + max(0, len(palette) - n_tr)) % len(palette)]}, "gap": 80,
        })
    chart.set_title({"name": "Average score by area, round by round (same contracts)",
                     "name_font": {"size": 12, "bold": True, "color": NAVY}})
    chart.set_y_axis({"min": 0, "max": data.scale.max_score, "major_unit": 1, "num_font": {"size": 9},
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_x_axis({"num_font": {"size": 9}})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 900, "height": 320})
    row += 1
    ws.insert_chart(row, 0, chart, {"x_offset": 4, "y_offset": 4})
    row += 18

    # 3. answers changed vs re-confirmed, on a new page rather than split across two
    ws.set_h_pagebreaks([row])
    ws.write_string(row, 0, f"How the answers were given in round {data.round}", fm.section)
    row += 1
    ch = progress["changes"]
    ws.set_row(row, 32)
    ws.write_row(row, 0, ["Area", "Name", "Changed", "Re-confirmed", "New", "Share changed"], fm.header_c)
    row += 1
    for a, name in data.areas:
        rec = ch.loc[a]
        tot = int(rec.sum())
        ws.write_string(row, 0, str(a), fm.cell_center)
        ws.write_string(row, 1, name, fm.cell_nowrap)
        ws.write_row(row, 2, [int(rec["changed"]), int(rec["re-confirmed"]), int(rec["new"])], fm.cell_int)
        _write_scores(ws, row, 5, [rec["changed"] / tot if tot else float("nan")], fm.cell_pct, fm.cell_na)
        row += 1
    key = ("Changed: the owner altered an answer carried forward from the last review. Re-confirmed: carried "
           "forward and confirmed unchanged. New: no earlier answer to carry forward.")
    ws.merge_range(row, 0, row, 5, key, fm.note)
    ws.set_row(row, _text_height(key, 14 + 30 + 36 + 14 * 3))
    row += 2

    # 4. per contract
    ws.write_string(row, 0, "Change by contract and area", fm.section)
    row += 1
    hdr = row
    headers = ["Contract ID", "Title", "Directorate", "Previous round"] + [_area_header(a, n) for a, n in
                                                                          data.areas] + ["All areas"]
    ws.set_row(hdr, 48)
    ws.set_column(3, 3, 14)
    first = hdr + 1
    last = first + len(ids) - 1
    ws.add_table(hdr, 0, hdr + 1, len(headers) - 1, {  # widened by _BulkRows
        "name": "ProgressByContract", "style": "Table Style Light 1", "autofilter": True,
        "columns": [{"header": h, "header_format": fm.header_c} for h in headers],
    })
    sub = info.loc[ids]
    titles, directorates = sub["title"].astype(str).tolist(), sub["directorate"].astype(str).tolist()
    bulk.add(ws, first, [
        _BulkColumn([str(i) for i in ids], "text", fm.cell_nowrap),
        _BulkColumn(titles, "text", fm.cell),
        _BulkColumn(directorates, "text", fm.cell),
        _BulkColumn(progress["prev_round"].loc[ids].astype(str).tolist(), "text", fm.cell_center),
    ] + [_na_column(delta.loc[ids, c], fm.cell_delta, fm.cell_na) for c in cols + ["overall"]],
        table="ProgressByContract", heights=_wrapped_heights((titles, 30), (directorates, 36)))
    _delta_colours(ws, fm, first, 4, last, 4 + len(cols))
    print_setup(ws, left_footer=footer)


def _delta_colours(ws, fm, r1, c1, r2, c2):
    ws.conditional_format(r1, c1, r2, c2, {"type": "cell", "criteria": ">=", "value": UNCHANGED_WITHIN,
                                           "format": fm.cf_good})
    ws.conditional_format(r1, c1, r2, c2, {"type": "cell", "criteria": "<=", "value": -UNCHANGED_WITHIN,
                                           "format": fm.cf_bad})
    ws.conditional_format(r1, c1, r2, c2, {"type": "cell", "criteria": "between", "minimum": -UNCHANGED_WITHIN,
                                           "maximum": UNCHANGED_WITHIN, "format": fm.cf_same})


# --- Actions ---------------------------------------------------------------------------
def _actions(ws, fm, bulk, data, actions, footer):
    ws.write_string(0, 0, f"Improvement actions, round {data.round}", fm.title)
    overdue = int((actions["status"] == "Overdue").sum()) if len(actions) else 0
    ws.write_string(1, 0, f"{_plural(len(actions), 'action')} recorded by contract owners; {overdue:,} overdue "
                          f"(target date before {data.today:%d/%m/%Y}), listed first.", fm.subtitle)
    headers = ["Contract ID", "Title", "Directorate", "Activity", "Statement", "Current rating", "Action",
               "Action owner", "Target date", "Status"]
    widths = [12, 26, 22, 8, 44, 14, 50, 20, 12, 14]
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    hdr = 3
    if actions.empty:
        ws.write_string(hdr, 0, f"No improvement actions were recorded in round {data.round}.", fm.note)
        print_setup(ws, left_footer=footer)
        return
    ws.set_row(hdr, 32)
    n = len(actions)
    ws.add_table(hdr, 0, hdr + 1, len(headers) - 1, {  # widened by _BulkRows
        "name": "Actions", "style": "Table Style Light 1", "autofilter": True,
        "columns": [{"header": h, "header_format": fm.header} for h in headers],
    })
    text = {c: actions[c].fillna("").astype(str).tolist()
            for c in ("title", "directorate", "activity", "rating", "action", "action_owner")}
    bulk.add(ws, hdr + 1, [
        _BulkColumn(actions["contract_id"].astype(str).tolist(), "text", fm.cell_nowrap),
        _BulkColumn(text["title"], "text", fm.cell),
        _BulkColumn(text["directorate"], "text", fm.cell),
        _BulkColumn(actions["ref"].astype(str).tolist(), "text", fm.cell_center),
        _BulkColumn(text["activity"], "text", fm.cell),
        _BulkColumn(text["rating"], "text", fm.cell),
        _BulkColumn(text["action"], "text", fm.cell),
        _BulkColumn(text["action_owner"], "text", fm.cell),
        _BulkColumn(_excel_serial(actions["target_date"]), "number", fm.cell_date),
        _BulkColumn(actions["status"].astype(str).tolist(), "text", fm.cell_center),
    ], table="Actions", heights=_wrapped_heights(*[(text[c], widths[j]) for j, c in (
        (1, "title"), (2, "directorate"), (4, "activity"), (5, "rating"), (6, "action"), (7, "action_owner"))]))
    status_col = xl_col_to_name(len(headers) - 1)
    ws.conditional_format(hdr + 1, 0, hdr + n, len(headers) - 1, {
        "type": "formula", "criteria": f'=${status_col}{hdr + 2}="Overdue"', "format": fm.cf_bad})
    ws.freeze_panes(hdr + 1, 1)
    print_setup(ws, repeat_to_row=hdr, left_footer=footer)


# --- Directorates ----------------------------------------------------------------------
def _directorates(ws, fm, data, info, area_scores, overall, footer):
    ws.write_string(0, 0, f"Directorates: average score by area, round {data.round}", fm.title)
    ws.write_string(1, 0, "Each contract counts equally: the mean of the contracts' own area averages.", fm.subtitle)
    cols = [a for a, _ in data.areas]
    frame = area_scores.copy()
    frame["overall"] = overall
    frame["directorate"] = info["directorate"]
    frame["value"] = info["annual_value_gbp"]
    grp = frame.groupby("directorate", sort=True)
    means = grp[cols + ["overall"]].mean()
    n = grp.size()
    value = grp["value"].sum()
    headers = ["Directorate", "Contracts", "Annual value (£)"] + [_area_header(a, nm) for a, nm in data.areas] + \
        ["All areas"]
    widths = [36, 10, 15] + [14] * (len(cols) + 1)
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    hdr = 3
    ws.set_row(hdr, 48)
    ws.write_row(hdr, 0, headers, fm.header_c)
    r = hdr + 1
    for d, rec in means.iterrows():
        if height := wrapped_height((str(d), widths[0])):
            ws.set_row(r, height)
        ws.write_string(r, 0, str(d), fm.cell)
        ws.write_number(r, 1, int(n[d]), fm.cell_int)
        ws.write_number(r, 2, float(value[d]), fm.cell_money)
        _write_scores(ws, r, 3, rec.tolist(), fm.cell_score, fm.cell_na)
        r += 1
    last = r - 1
    ws.write_string(r, 0, "All contracts", fm.cell_bold)
    ws.write_number(r, 1, len(info), fm.cell_int)
    ws.write_number(r, 2, float(info["annual_value_gbp"].fillna(0).sum()), fm.cell_money)
    _write_scores(ws, r, 3, frame[cols + ["overall"]].mean().tolist(), fm.cell_score_bold, fm.cell_na)
    ws.autofilter(hdr, 0, last, len(headers) - 1)
    _colour_scale(ws, hdr + 1, 3, last, 3 + len(cols), data.scale)
    ws.freeze_panes(hdr + 1, 1)
    print_setup(ws, repeat_to_row=hdr, left_footer=footer)


# --- Data ------------------------------------------------------------------------------
DATA_COLUMNS = [
    # header, answers column, kind, format attribute
    ("Contract ID", "contract_id", "text", "cell_nowrap"),
    ("Title", "title", "text", "cell_nowrap"),
    ("Supplier", "supplier", "text", "cell_nowrap"),
    ("Directorate", "directorate", "text", "cell_nowrap"),
    ("Contract owner", "owner_name", "text", "cell_nowrap"),
    ("Annual value (£)", "annual_value_gbp", "number", "cell_money"),
    ("Risk", "risk", "text", "cell_nowrap"),
    ("Complexity", "complexity", "text", "cell_nowrap"),
    ("Round", "round", "text", "cell_nowrap"),
    ("Area", "area", "number", "cell_center"),
    ("Area name", "area_name", "text", "cell_nowrap"),
    ("Activity", "ref", "text", "cell_nowrap"),
    ("Statement", "activity", "text", "cell_nowrap"),
    ("Rating", "rating", "text", "cell_nowrap"),
    ("Score", "score", "number", "cell_center"),
    ("Not applicable", "not_applicable", "text", "cell_nowrap"),
    ("Evidence", "evidence", "text", "cell_nowrap"),
    ("Action", "action", "text", "cell_nowrap"),
    ("Action owner", "action_owner", "text", "cell_nowrap"),
    ("Target date", "target_date", "date", "cell_date"),
    ("Answer", "change", "text", "cell_nowrap"),
    ("Framework", "framework", "text", "cell_nowrap"),
    ("Submission", "submission_id", "number", "cell_center"),
    ("File SHA-256", "file_sha256", "text", "cell_nowrap"),
    ("Sheet", "sheet", "text", "cell_nowrap"),
    ("Rating cell", "rating_cell", "text", "cell_nowrap"),
    ("Evidence cell", "evidence_cell", "text", "cell_nowrap"),
    ("Received (UTC)", "received_at", "datetime", "cell_datetime"),
    ("Attested by", "attested_name", "text", "cell_nowrap"),
    ("Attested on", "attested_on", "date", "cell_date"),
]


def _data_sheet(ws, fm, bulk, data, footer):
    ans = data.answers.copy()
    ans["framework"] = ans["framework_id"].astype(str) + " v" + ans["framework_version"].astype(str)
    ans["not_applicable"] = np.where(ans["not_applicable"].astype(bool), "Yes", "No")
    ans["_k"] = _ref_order(ans["ref"])
    ans = ans.sort_values(["contract_id", "_k"], kind="stable")
    widths = {"Title": 28, "Supplier": 22, "Directorate": 24, "Statement": 50, "Evidence": 40, "Action": 30,
              "Area name": 22, "File SHA-256": 20, "Contract owner": 18, "Received (UTC)": 16}
    headers = [h for h, *_ in DATA_COLUMNS]
    for j, h in enumerate(headers):
        ws.set_column(j, j, widths.get(h, 12))
    n = len(ans)
    ws.set_row(0, 30)
    ws.add_table(0, 0, 1, len(headers) - 1, {  # widened by _BulkRows
        "name": "Answers", "style": "Table Style Light 1", "autofilter": True,
        "columns": [{"header": h, "header_format": fm.header} for h in headers],
    })
    cols = []
    for header, src, kind, fmt in DATA_COLUMNS:
        s = ans[src] if src in ans else pd.Series([None] * n)
        f = getattr(fm, fmt)
        if kind == "text":
            cols.append(_BulkColumn(s.where(s.notna(), "").astype(str).tolist(), "text", f))
        elif kind in ("date", "datetime"):
            serial = _excel_serial(s)
            typed = s.notna().to_numpy().copy()
            if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
                typed &= np.asarray([isinstance(v, str) and v.strip() != "" for v in s.tolist()], dtype=bool)
            if (typed & np.isnan(serial)).any():
                # some values are not dates (free text): keep them all as text rather than lose them
                cols.append(_BulkColumn(s.where(s.notna(), "").astype(str).tolist(), "text", fm.cell_nowrap))
            else:
                cols.append(_BulkColumn(serial, "number", f))
        else:
            cols.append(_BulkColumn(pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64"), "number", f))
    bulk.add(ws, 1, cols, table="Answers")
    ws.freeze_panes(1, 1)
    print_setup(ws, repeat_to_row=0, left_footer=footer)
