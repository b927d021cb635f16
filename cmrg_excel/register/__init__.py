"""The master register: one SQLite file per workspace, and pandas views over it.

It holds the issue ledger (every workbook we sent), the contracts as issued, every
submission (accepted or rejected, never deleted) and the answers of accepted returns with
their provenance. Each returned file is registered all or nothing (its own savepoint inside
a transaction that ingest commits in small groups), so a killed run leaves the register as
it was before the file it was filing.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator


from ..core import framework as fwmod
from ..kit.layout import ASSESS_BY_KEY
from ..kit.tables import write_table_workbook
from ..core.errors import BusyError

if TYPE_CHECKING:  # pandas is imported where a frame is built: ingest and its workers never need it
    import pandas as pd

SCHEMA_VERSION = 2
# Columns added since schema 1, added to an older register when it is opened (nothing else changes).
MIGRATIONS = {2: [("submissions", "entered", "TEXT")]}

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS frameworks (
    hash        TEXT PRIMARY KEY,
    id          TEXT NOT NULL,
    version     TEXT NOT NULL,
    definition  TEXT NOT NULL,      -- JSON, Framework.to_dict()
    stored_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS contracts (
    contract_id      TEXT PRIMARY KEY,
    title            TEXT NOT NULL,
    supplier         TEXT NOT NULL,
    directorate      TEXT NOT NULL,
    owner_name       TEXT NOT NULL,
    owner_email      TEXT NOT NULL,
    annual_value_gbp REAL NOT NULL,
    total_value_gbp  REAL NOT NULL,
    risk             TEXT NOT NULL,
    complexity       TEXT NOT NULL,
    details          TEXT NOT NULL,  -- JSON of every column of the contract list
    updated_at       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS issues (
    token             TEXT PRIMARY KEY,
    contract_id       TEXT NOT NULL REFERENCES contracts(contract_id),
    round             TEXT NOT NULL,
    framework_id      TEXT NOT NULL,
    framework_version TEXT NOT NULL,
    framework_hash    TEXT NOT NULL REFERENCES frameworks(hash),
    layout_version    TEXT NOT NULL,
    kind              TEXT NOT NULL,   -- initial, reissue, correction, upgrade
    file_path         TEXT NOT NULL,   -- relative to the workspace
    file_sha256       TEXT NOT NULL,
    generated_at      TEXT NOT NULL,
    deadline          TEXT,
    status            TEXT NOT NULL DEFAULT 'issued',  -- issued, superseded
    superseded_by     TEXT,
    reissue_of        INTEGER,          -- submission id this corrects (correction workbooks)
    prefill_round     TEXT,             -- round whose answers were carried forward
    contract_snapshot TEXT NOT NULL,    -- JSON of the details written on the Contract sheet
    prefill           TEXT              -- JSON {ref: {rating, evidence, ...}} written as carried forward
);
CREATE INDEX IF NOT EXISTS issues_by_contract ON issues(contract_id, round);
CREATE TABLE IF NOT EXISTS submissions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    file_sha256    TEXT NOT NULL UNIQUE,
    original_name  TEXT NOT NULL,
    stored_path    TEXT NOT NULL,      -- archive/ or inbox/rejected/, relative to the workspace
    received_at    TEXT NOT NULL,
    outcome        TEXT NOT NULL,      -- accepted, rejected
    status         TEXT,               -- current, superseded (accepted only)
    token          TEXT,               -- issue token found in the file, if any
    contract_id    TEXT,
    round          TEXT,
    framework_hash TEXT,
    supersedes     INTEGER REFERENCES submissions(id),
    corrects       INTEGER REFERENCES submissions(id),
    attested_name  TEXT,
    attested_role  TEXT,
    attested_on    TEXT,
    problems       TEXT NOT NULL DEFAULT '[]',  -- JSON list of problems (rejected) or notes
    corrections    TEXT NOT NULL DEFAULT '{}',  -- JSON {field: corrected value} flagged on the Contract sheet
    mapping        TEXT,                        -- JSON {old ref: new ref} when an old template was upgraded
    entered        TEXT                         -- JSON of what the owner typed (rejected returns we issued)
);
CREATE INDEX IF NOT EXISTS submissions_by_contract ON submissions(contract_id, round, outcome, status);
CREATE TABLE IF NOT EXISTS answers (
    submission_id  INTEGER NOT NULL REFERENCES submissions(id),
    ref            TEXT NOT NULL,
    area           INTEGER NOT NULL,
    rating         TEXT NOT NULL,      -- canonical scale label
    score          REAL,               -- NULL for Not applicable
    not_applicable INTEGER NOT NULL,
    evidence       TEXT NOT NULL DEFAULT '',
    action         TEXT NOT NULL DEFAULT '',
    action_owner   TEXT NOT NULL DEFAULT '',
    target_date    TEXT,
    change         TEXT NOT NULL DEFAULT 'new',   -- new, changed, re-confirmed
    source_ref     TEXT,               -- the reference on the returned sheet (differs after an upgrade)
    sheet          TEXT NOT NULL,
    row            INTEGER NOT NULL,
    PRIMARY KEY (submission_id, ref)
);
CREATE TABLE IF NOT EXISTS inbox_pending (
    file_sha256 TEXT NOT NULL,         -- a registered file whose inbox copy is still to be removed
    source      TEXT NOT NULL,         -- its path in inbox/, relative to the workspace
    PRIMARY KEY (file_sha256, source)
);
CREATE TABLE IF NOT EXISTS actions (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    ref           TEXT NOT NULL,
    action        TEXT NOT NULL,
    owner         TEXT NOT NULL DEFAULT '',
    target_date   TEXT,
    PRIMARY KEY (submission_id, ref)
);
"""


class RegisterError(BusyError):
    """The register file is damaged or from a newer version of the tool."""


def now() -> str:
    """The current time as stored in the register (UTC, ISO 8601, seconds)."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (creating on first use) the register at ``path``."""
    path = Path(path)
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=FULL")
        with transaction(conn):
            # executescript() would commit early; run the statements inside this transaction.
            for statement in SCHEMA.split(";\n"):
                if statement.strip():
                    conn.execute(statement)
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                raise RegisterError(
                    f"{path} was written by a newer cmrg (schema {row[0]}); upgrade cmrg-excel to use it"
                )
            elif int(row[0]) < SCHEMA_VERSION:
                _migrate(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise RegisterError(f"{path} is not a usable register: {exc}") from None
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring an older register up to SCHEMA_VERSION (inside the opening transaction)."""
    for _version, columns in sorted(MIGRATIONS.items()):
        for table, column, kind in columns:
            have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One all-or-nothing write: BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def open_register(workspace) -> sqlite3.Connection:
    """The workspace's register connection."""
    return connect(workspace.register_path)


# --- frameworks and contracts ----------------------------------------------------------
def store_framework(conn: sqlite3.Connection, fw: fwmod.Framework) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO frameworks VALUES (?,?,?,?,?)",
        (fw.content_hash, fw.id, fw.version, json.dumps(fw.to_dict(), ensure_ascii=False), now()),
    )


def load_framework(conn: sqlite3.Connection, content_hash: str) -> fwmod.Framework | None:
    """The framework definition an issue was made from, as stored when it was issued."""
    row = conn.execute("SELECT definition FROM frameworks WHERE hash=?", (content_hash,)).fetchone()
    return fwmod.from_dict(json.loads(row[0])) if row else None


def _jsonable(value: object) -> object:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def contract_details(contract) -> dict:
    """A contract as plain JSON-ready data."""
    return {k: _jsonable(v) for k, v in contract.as_dict().items() if k != "row"}


def upsert_contract(conn: sqlite3.Connection, contract) -> None:
    d = contract_details(contract)
    conn.execute(
        """INSERT INTO contracts VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
           ON CONFLICT(contract_id) DO UPDATE SET title=excluded.title, supplier=excluded.supplier,
             directorate=excluded.directorate, owner_name=excluded.owner_name, owner_email=excluded.owner_email,
             annual_value_gbp=excluded.annual_value_gbp, total_value_gbp=excluded.total_value_gbp,
             risk=excluded.risk, complexity=excluded.complexity, details=excluded.details,
             updated_at=excluded.updated_at""",
        (
            d["contract_id"], d["title"], d["supplier"], d["directorate"], d["owner_name"], d["owner_email"],
            d["annual_value_gbp"], d["total_value_gbp"], d["risk"], d["complexity"],
            json.dumps(d, ensure_ascii=False), now(),
        ),
    )


# --- the issue ledger ------------------------------------------------------------------
@dataclass(frozen=True)
class Issue:
    token: str
    contract_id: str
    round: str
    framework_id: str
    framework_version: str
    framework_hash: str
    layout_version: str
    kind: str
    file_path: str
    file_sha256: str
    generated_at: str
    deadline: str | None
    contract_snapshot: dict
    status: str = "issued"
    superseded_by: str | None = None
    reissue_of: int | None = None
    prefill_round: str | None = None
    prefill: dict | None = None


def _issue_from_row(row: sqlite3.Row) -> Issue:
    d = dict(row)
    d["contract_snapshot"] = json.loads(d["contract_snapshot"])
    d["prefill"] = json.loads(d["prefill"]) if d["prefill"] else None
    return Issue(**d)


def record_issue(conn: sqlite3.Connection, issue: Issue) -> None:
    """Add an issued workbook to the ledger, superseding earlier open issues of the same
    contract and round (call inside a transaction)."""
    conn.execute(
        "UPDATE issues SET status='superseded', superseded_by=? "
        "WHERE contract_id=? AND round=? AND status='issued' AND token<>?",
        (issue.token, issue.contract_id, issue.round, issue.token),
    )
    conn.execute(
        """INSERT INTO issues (token, contract_id, round, framework_id, framework_version, framework_hash,
             layout_version, kind, file_path, file_sha256, generated_at, deadline, status, superseded_by,
             reissue_of, prefill_round, contract_snapshot, prefill)
           VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
        (
            issue.token, issue.contract_id, issue.round, issue.framework_id, issue.framework_version,
            issue.framework_hash, issue.layout_version, issue.kind, issue.file_path, issue.file_sha256,
            issue.generated_at, issue.deadline, issue.status, issue.superseded_by, issue.reissue_of,
            issue.prefill_round, json.dumps(issue.contract_snapshot, ensure_ascii=False),
            json.dumps(issue.prefill, ensure_ascii=False) if issue.prefill is not None else None,
        ),
    )


def get_issue(conn: sqlite3.Connection, token: str) -> Issue | None:
    row = conn.execute("SELECT * FROM issues WHERE token=?", (token,)).fetchone()
    return _issue_from_row(row) if row else None


def list_issues(conn: sqlite3.Connection, round: str | None = None, open_only: bool = False) -> list[Issue]:
    sql = "SELECT * FROM issues WHERE 1=1"
    args: list = []
    if round is not None:
        sql += " AND round=?"
        args.append(round)
    if open_only:
        sql += " AND status='issued'"
    sql += " ORDER BY generated_at, contract_id"
    return [_issue_from_row(r) for r in conn.execute(sql, args)]


def rounds(conn: sqlite3.Connection) -> list[str]:
    """Rounds in the order they were first issued."""
    return [r[0] for r in conn.execute("SELECT round FROM issues GROUP BY round ORDER BY MIN(generated_at), round")]


# --- submissions (written by ingest, one savepoint per file) -----------------------------
@dataclass(frozen=True)
class Known:
    """A file already received, found by its SHA-256."""

    id: int
    outcome: str
    status: str | None
    stored_path: str
    received_at: str
    contract_id: str | None
    round: str | None


def known_files(conn: sqlite3.Connection) -> dict[str, Known]:
    """Every file ever received, by SHA-256 (accepted or rejected)."""
    return {
        r[0]: Known(r[1], r[2], r[3], r[4], r[5], r[6], r[7])
        for r in conn.execute(
            "SELECT file_sha256, id, outcome, status, stored_path, received_at, contract_id, round FROM submissions")
    }


def current_submissions(conn: sqlite3.Connection) -> dict[tuple[str, str], int]:
    """(contract, round) -> id of the current accepted submission."""
    return {
        (r[1], r[2]): r[0]
        for r in conn.execute(
            "SELECT id, contract_id, round FROM submissions WHERE outcome='accepted' AND status='current'")
    }


_INSERT_SUBMISSION = """
INSERT INTO submissions (file_sha256, original_name, stored_path, received_at, outcome, status, token, contract_id,
    round, framework_hash, supersedes, corrects, attested_name, attested_role, attested_on, problems, corrections,
    mapping, entered)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"""
_INSERT_ANSWER = """
INSERT INTO answers (submission_id, ref, area, rating, score, not_applicable, evidence, action, action_owner,
    target_date, change, source_ref, sheet, row)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"""
_INSERT_ACTION = "INSERT INTO actions (submission_id, ref, action, owner, target_date) VALUES (?,?,?,?,?)"


def add_submission(conn: sqlite3.Connection, *, sha256: str, original_name: str, stored_path: str,
                   received_at: str, outcome: str, status: str | None = None, token: str | None = None,
                   contract_id: str | None = None, round: str | None = None, framework_hash: str | None = None,
                   supersedes: int | None = None, corrects: int | None = None, attested_name: str | None = None,
                   attested_role: str | None = None, attested_on: str | None = None, problems: list | None = None,
                   corrections: dict | None = None, mapping: dict | None = None, answers=(),
                   inbox_source: str | None = None, entered: dict | None = None) -> int:
    """Record one received file (call inside :func:`transaction`): the submission, its answers
    (objects with the attributes of :class:`cmrg_excel.intake.check.Answer`) and actions, the
    superseding of the previous current return, and the inbox copy still to remove."""
    cur = conn.execute(_INSERT_SUBMISSION, (
        sha256, original_name, stored_path, received_at, outcome, status, token, contract_id, round,
        framework_hash, supersedes, corrects, attested_name, attested_role, attested_on,
        json.dumps(problems or [], ensure_ascii=False), json.dumps(corrections or {}, ensure_ascii=False),
        json.dumps(mapping, ensure_ascii=False) if mapping else None,
        json.dumps(entered, ensure_ascii=False) if entered is not None else None,
    ))
    sub_id = cur.lastrowid
    if supersedes is not None:
        conn.execute("UPDATE submissions SET status='superseded' WHERE id=? AND outcome='accepted'", (supersedes,))
    if answers:
        conn.executemany(_INSERT_ANSWER, [
            (sub_id, a.ref, a.area, a.rating, a.score, int(a.not_applicable), a.evidence, a.action, a.action_owner,
             a.target_date, a.change, a.source_ref, a.sheet, a.row) for a in answers
        ])
        acts = [(sub_id, a.ref, a.action, a.action_owner, a.target_date) for a in answers if a.action]
        if acts:
            conn.executemany(_INSERT_ACTION, acts)
    if inbox_source is not None:
        conn.execute("INSERT OR IGNORE INTO inbox_pending VALUES (?,?)", (sha256, inbox_source))
    return sub_id


def pending_removals(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """(sha256, inbox source, stored path) of registered files whose inbox copy may still exist."""
    return [tuple(r) for r in conn.execute(
        "SELECT p.file_sha256, p.source, s.stored_path FROM inbox_pending p "
        "LEFT JOIN submissions s ON s.file_sha256 = p.file_sha256")]


def clear_pending(conn: sqlite3.Connection, items: list[tuple[str, str]]) -> None:
    """Forget inbox copies that have been removed."""
    if items:
        with transaction(conn):
            conn.executemany("DELETE FROM inbox_pending WHERE file_sha256=? AND source=?", items)


def stored_paths(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT stored_path FROM submissions")}


# --- pandas views ----------------------------------------------------------------------
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


def answers_frame(conn: sqlite3.Connection, round: str | None = None, include_superseded: bool = False) -> pd.DataFrame:
    """One row per contract x round x activity of accepted returns, with provenance."""
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
    conn = open_register(workspace)
    try:
        return answers_frame(conn, round, include_superseded)
    finally:
        conn.close()


# --- export -----------------------------------------------------------------------------
def export_answers(workspace, out: str | Path, round: str | None = None, include_superseded: bool = False) -> Path:
    """Write :func:`answers` to ``out``: ``.xlsx`` as an Excel Table (filters, frozen header,
    people's text always as text) or ``.csv`` (cells that a spreadsheet would run as a
    formula get a leading ``'``)."""
    out = Path(out)
    df = answers(workspace, round, include_superseded)
    suffix = out.suffix.lower()
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        from ..kit.files import write_csv

        rows = []
        for rec in df.to_dict("records"):
            rows.append({k: _export_value(v, csv=True) for k, v in rec.items()})
        return write_csv(out, list(df.columns), rows)
    if suffix != ".xlsx":
        raise ValueError(f"{out.name}: choose a file ending in .xlsx or .csv")
    # the sign-off date is stored as ISO text: as a date it shows dd/mm/yyyy (kept as text if any is not a date)
    import pandas as pd

    signed = df["attested_on"].where(df["attested_on"].astype(str).str.strip() != "") if "attested_on" in df else None
    if signed is not None:
        as_dates = pd.to_datetime(signed, format="%Y-%m-%d", errors="coerce")
        if not (signed.notna() & as_dates.isna()).any():
            df["attested_on"] = as_dates
    write_table_workbook(out, "Register", list(df.columns), [[_export_value(v) for v in r] for r in df.itertuples(index=False)],
                     widths={"evidence": 60, "action": 40, "activity": 60, "title": 30, "area_name": 28})
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
