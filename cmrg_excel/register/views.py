"""The register read as pandas DataFrames, and exported as .xlsx or .csv.

The answers view is the public face of the register (``cmrg_excel.register.answers``):
one row per contract x round x activity of accepted returns, with where each answer came
from. pandas is imported where a frame is built, so ingest and its workers never load it.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from ..kit.layout import ASSESS_BY_KEY
from ..kit.tables import TableSheet, write_table_workbook
from .db import open_register
from .ledger import check_round, list_issues, load_framework

if TYPE_CHECKING:
    import pandas as pd

ANSWER_COLUMNS = [
    "contract_id", "title", "supplier", "directorate", "owner_name", "annual_value_gbp", "risk", "complexity",
    "round", "framework_id", "framework_version", "area", "area_name", "ref", "activity", "rating", "score",
    "not_applicable", "evidence", "action", "action_owner", "target_date", "change",
    "submission_id", "submission_status", "token", "file_sha256", "sheet", "rating_cell", "evidence_cell",
    "received_at", "attested_name", "attested_on",
]


def _frame(conn: sqlite3.Connection, sql: str, args: tuple = ()) -> pd.DataFrame:
    import pandas as pd

    cur = conn.execute(sql, args)
    cols = [c[0] for c in cur.description]
    return pd.DataFrame.from_records([tuple(r) for r in cur.fetchall()], columns=cols)


def answers_frame(conn: sqlite3.Connection, round: str | None = None, include_superseded: bool = False,
                  contracts: list[str] | None = None, received_from: dt.date | None = None,
                  received_to: dt.date | None = None) -> pd.DataFrame:
    """One row per contract x round x activity of accepted returns, with provenance (optionally
    only for the ``contracts`` named, or the returns received between two dates, inclusive)."""
    import pandas as pd

    sql = """
      SELECT s.contract_id, c.title, c.supplier, c.directorate, c.owner_name, c.annual_value_gbp, c.risk,
             c.complexity, s.round, f.id AS framework_id, f.version AS framework_version, a.area, a.ref,
             a.rating, a.score, a.not_applicable, a.evidence, a.action, a.action_owner, a.target_date, a.change,
             s.id AS submission_id, s.status AS submission_status, s.token, s.file_sha256, a.sheet, a.row,
             s.received_at, s.attested_name, s.attested_on, s.framework_hash
      FROM answers a
      JOIN submissions s ON s.id = a.submission_id
      JOIN contracts c ON c.contract_id = s.contract_id
      JOIN frameworks f ON f.hash = s.framework_hash
      WHERE s.outcome = 'accepted'"""
    args: list = []
    if not include_superseded:
        sql += " AND s.status = 'current'"
    if round is not None:
        sql += " AND s.round = ?"
        args.append(round)
    if contracts is not None:
        sql += f" AND s.contract_id IN ({', '.join('?' * len(contracts))})" if contracts else " AND 1 = 0"
        args.extend(contracts)
    if received_from is not None:  # received_at is ISO 8601 in UTC, so text order is time order
        sql += " AND s.received_at >= ?"
        args.append(received_from.isoformat())
    if received_to is not None:
        sql += " AND s.received_at < ?"
        args.append((received_to + dt.timedelta(days=1)).isoformat())
    sql += " ORDER BY s.round, s.contract_id, a.area, CAST(substr(a.ref, instr(a.ref, '.') + 1) AS INTEGER)"
    df = _frame(conn, sql, tuple(args))
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in ANSWER_COLUMNS})
    names: dict[str, tuple[dict, dict]] = {}
    for h in df["framework_hash"].unique():
        fw = load_framework(conn, h)
        names[h] = ({a.number: a.name for a in fw.areas}, {x.ref: x.text for x in fw.activities})
    # Plain lists: iterating pandas string columns element by element is ~10x slower.
    hashes = df["framework_hash"].tolist()
    df["area_name"] = [names[h][0].get(a, "") for h, a in zip(hashes, df["area"].tolist())]
    df["activity"] = [names[h][1].get(r, "") for h, r in zip(hashes, df["ref"].tolist())]
    df["rating_cell"] = ASSESS_BY_KEY["rating"].letter + df["row"].astype(str)
    df["evidence_cell"] = ASSESS_BY_KEY["evidence"].letter + df["row"].astype(str)
    df["not_applicable"] = df["not_applicable"].astype(bool)
    df["score"] = pd.to_numeric(df["score"], errors="coerce")
    df["annual_value_gbp"] = pd.to_numeric(df["annual_value_gbp"], errors="coerce")
    df["target_date"] = pd.to_datetime(df["target_date"], errors="coerce")
    df["received_at"] = pd.to_datetime(df["received_at"], errors="coerce", utc=True)
    return df[ANSWER_COLUMNS]


def returns_frame(conn: sqlite3.Connection) -> pd.DataFrame:
    """One row per current accepted return: contract_id, round, received_at, overall (mean
    score, Not applicable left out), directorate, title; in order of receipt."""
    import pandas as pd

    df = _frame(conn, """
      SELECT s.contract_id, s.round, s.received_at, AVG(a.score) AS overall, c.directorate, c.title
      FROM submissions s JOIN answers a ON a.submission_id = s.id
      JOIN contracts c ON c.contract_id = s.contract_id
      WHERE s.outcome = 'accepted' AND s.status = 'current'
      GROUP BY s.id ORDER BY s.received_at, s.contract_id""")
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype="object")
                             for c in ("contract_id", "round", "received_at", "overall", "directorate", "title")})
    df["overall"] = pd.to_numeric(df["overall"], errors="coerce")
    return df


def area_scores_frame(conn: sqlite3.Connection) -> pd.DataFrame:
    """Each current accepted return's mean score per area: contract_id, round, area, score, received_at.

    Not applicable answers are left out of the mean. Small (contracts x rounds x areas), so
    council-wide averages need not read every answer."""
    import pandas as pd

    df = _frame(conn, """
      SELECT s.contract_id, s.round, a.area, AVG(a.score) AS score, s.received_at
      FROM answers a JOIN submissions s ON s.id = a.submission_id
      WHERE s.outcome = 'accepted' AND s.status = 'current'
      GROUP BY s.id, a.area
      ORDER BY s.received_at, s.contract_id, a.area""")
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in ("contract_id", "round", "area", "score", "received_at")})
    df["score"] = pd.to_numeric(df["score"], errors="coerce")
    return df


def issues_frame(conn: sqlite3.Connection, round: str | None = None) -> pd.DataFrame:
    """The issue ledger, one row per workbook issued."""
    sql = "SELECT token, contract_id, round, framework_id, framework_version, framework_hash, kind, file_path, " \
          "file_sha256, generated_at, deadline, status, superseded_by, reissue_of, prefill_round FROM issues"
    args: tuple = ()
    if round is not None:
        sql += " WHERE round=?"
        args = (round,)
    return _frame(conn, sql + " ORDER BY generated_at, contract_id", args)


def submissions_frame(conn: sqlite3.Connection, round: str | None = None) -> pd.DataFrame:
    """Every file ever received, accepted or rejected."""
    sql = "SELECT * FROM submissions"
    args: tuple = ()
    if round is not None:
        sql += " WHERE round=?"
        args = (round,)
    return _frame(conn, sql + " ORDER BY id", args)


def contracts_frame(conn: sqlite3.Connection) -> pd.DataFrame:
    """Contracts as last issued."""
    return _frame(
        conn,
        "SELECT contract_id, title, supplier, directorate, owner_name, owner_email, annual_value_gbp, "
        "total_value_gbp, risk, complexity FROM contracts ORDER BY contract_id",
    )


def answers(workspace, round: str | None = None, include_superseded: bool = False) -> pd.DataFrame:
    """Accepted answers of a workspace as a DataFrame: one row per contract x round x activity."""
    conn = open_register(workspace, readonly=True)
    try:
        return answers_frame(conn, round, include_superseded)
    finally:
        conn.close()


def export_answers(workspace, out: str | Path, round: str | None = None, include_superseded: bool = False) -> Path:
    """Write :func:`answers` to ``out``: ``.xlsx`` as an Excel Table (filters, frozen header,
    people's text always as text) or ``.csv`` (cells that a spreadsheet would run as a
    formula get a leading ``'``). Both carry, for each answer, the contract details its return
    corrects (``details_to_correct``); the .xlsx also lists them on a sheet of their own.
    A ``round`` that was never issued (or was withdrawn) raises :class:`RoundError`."""
    import pandas as pd

    from .details import COLUMNS as DETAIL_COLUMNS, by_submission, latest_corrections

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ValueError(f"{out.name}: choose a file ending in .xlsx or .csv")
    conn = open_register(workspace, readonly=True)
    try:
        check_round(conn, round)
        df = answers_frame(conn, round, include_superseded)
        subs = submissions_frame(conn, round)
        issues = list_issues(conn, round)
    finally:
        conn.close()
    records = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
               for r in subs.to_dict("records")] if not subs.empty else []
    details = by_submission(records, issues)
    df["details_to_correct"] = ["; ".join(d.line() for d in details.get(int(s), [])) if s == s else ""
                                for s in df["submission_id"]]
    # The sign-off date is stored as ISO text: as a date it reads like the target date beside it
    # (dd/mm/yyyy in either format; kept as text if any is not a date).
    signed = df["attested_on"].where(df["attested_on"].astype(str).str.strip() != "")
    as_dates = pd.to_datetime(signed, format="%Y-%m-%d", errors="coerce")
    if not (signed.notna() & as_dates.isna()).any():
        df["attested_on"] = as_dates
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        from ..kit.files import write_csv

        rows = []
        for rec in df.to_dict("records"):
            rows.append({k: _export_value(v, csv=True) for k, v in rec.items()})
        return write_csv(out, list(df.columns), rows)
    rows = [[_export_value(v) for v in r] for r in df.itertuples(index=False)]
    which = f"round {round}" if round else "every round"
    write_table_workbook(out, TableSheet(
        "Register", list(df.columns), rows,
        widths={"evidence": 60, "action": 40, "activity": 60, "title": 30, "area_name": 28, "details_to_correct": 50},
        title=f"The register of accepted answers, {which}, exported {dt.date.today():%d/%m/%Y}",
        note=(f"This sheet is not set to print: its {len(rows):,} rows (one per contract, round and key activity) "
              "are for filters, sorting and pivot tables (the table is named Register), and on paper would run to "
              "hundreds of pages. To print it anyway, clear the print area first (Excel: Page Layout > Print Area > "
              "Clear Print Area; LibreOffice Calc: Format > Print Ranges > Clear)."),
        printed=0),
        extra=[TableSheet("Details to correct", DETAIL_COLUMNS, [d.row() for d in latest_corrections(records, issues, round)],
                          title="Contract details the owners correct: put them right on the contract list")])
    return out


def _export_value(value: object, csv: bool = False) -> object:
    import pandas as pd

    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp):
        if value.tzinfo is not None:
            value = value.tz_convert("UTC").tz_localize(None)
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value
