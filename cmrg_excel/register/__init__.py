"""The master register: one SQLite file per workspace, and pandas views over it.

It holds the issue ledger (every workbook we sent), the contracts as issued, every
submission (accepted or rejected, never deleted) and the answers of accepted returns with
their provenance, and the audit trail: every ingest run and every decision the secretariat
made (:mod:`.audit`). Each returned file is registered all or nothing (its own savepoint
inside a transaction that ingest commits in small groups), so a killed run leaves the
register as it was before the file it was filing.

Commands that only read (status, summary, the export) open it read-only
(``open_register(ws, readonly=True)``): they never wait for another program writing to it.
A register held by another program for longer than :data:`BUSY_SECONDS` is
:class:`RegisterBusy` (exit code 3, "run again"), never "not a usable register".
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
from ..core.errors import BusyError

if TYPE_CHECKING:  # pandas is imported where a frame is built: ingest and its workers never need it
    import pandas as pd

SCHEMA_VERSION = 3
# Columns added since schema 1, added to an older register when it is opened (nothing else changes).
# Schema 3 also rebuilds the submissions table (see _rebuild_submissions) and adds the audit tables.
MIGRATIONS = {2: [("submissions", "entered", "TEXT")],
              3: [("submissions", "recheck", "INTEGER NOT NULL DEFAULT 0"), ("submissions", "named_for", "TEXT")]}
BUSY_SECONDS = 30.0  # how long a write waits for another program holding the register
BUSY = ("the register is busy (another program is writing to it: another cmrg, or a database tool with "
        "changes not yet saved)")

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
    file_sha256    TEXT NOT NULL,      -- the same bytes twice only when the first was refused by our own limits
    original_name  TEXT NOT NULL,
    stored_path    TEXT NOT NULL,      -- archive/ or inbox/rejected/, relative to the workspace
    received_at    TEXT NOT NULL,
    outcome        TEXT NOT NULL,      -- accepted, rejected
    status         TEXT,               -- current, superseded, withdrawn (accepted only)
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
    entered        TEXT,                        -- JSON of what the owner typed (rejected returns we issued)
    recheck        INTEGER NOT NULL DEFAULT 0,  -- 1: refused by our own limits; the same bytes are checked again
    named_for      TEXT                         -- JSON list of contract IDs the file name points at, when not its own
);
CREATE INDEX IF NOT EXISTS submissions_by_contract ON submissions(contract_id, round, outcome, status);
CREATE INDEX IF NOT EXISTS submissions_by_sha ON submissions(file_sha256);
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
CREATE TABLE IF NOT EXISTS ingest_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  TEXT NOT NULL,
    finished_at TEXT,                  -- NULL while running (or when the run was killed)
    os_user     TEXT NOT NULL,
    machine     TEXT NOT NULL,
    state       TEXT NOT NULL,         -- running, finished, stopped, interrupted
    files       INTEGER NOT NULL DEFAULT 0,
    accepted    INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    duplicates  INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    recovered   INTEGER NOT NULL DEFAULT 0,
    report_path TEXT,                  -- relative to the workspace
    message     TEXT                   -- why a run stopped
);
CREATE TABLE IF NOT EXISTS decisions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    made_at       TEXT NOT NULL,
    os_user       TEXT NOT NULL,
    machine       TEXT NOT NULL,
    action        TEXT NOT NULL,       -- withdraw-return, reinstate-return, confirm-return, withdraw-workbook,
                                       -- withdraw-round
    contract_id   TEXT,
    round         TEXT,
    submission_id INTEGER REFERENCES submissions(id),
    token         TEXT,                -- the workbook (issue) concerned
    reason        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS benefits (
    id            INTEGER PRIMARY KEY,
    contract_id   TEXT NOT NULL,
    benefit_date  TEXT NOT NULL,       -- ISO date the benefit was agreed or confirmed
    description   TEXT NOT NULL,
    amount_gbp    REAL,                -- pounds (a year, for a cashable saving); NULL when non-cashable
    kind          TEXT NOT NULL,       -- Cashable, One-off, Non-cashable
    caveat        TEXT NOT NULL DEFAULT '',
    source        TEXT NOT NULL,       -- "benefits.xlsx row 4", "meeting record 12/02/2027"
    recorded_at   TEXT NOT NULL
);
"""


class RegisterError(BusyError):
    """The register file is damaged or from a newer version of the tool."""


def now() -> str:
    """The current time as stored in the register (UTC, ISO 8601, seconds)."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


class RegisterBusy(BusyError):
    """Another program holds the register's write lock for longer than BUSY_SECONDS."""


def is_busy(exc: BaseException) -> bool:
    """True for SQLite's "database is locked" / "busy" errors."""
    return isinstance(exc, sqlite3.OperationalError) and any(
        w in str(exc).lower() for w in ("locked", "busy"))


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open (creating on first use) the register at ``path``.

    ``readonly`` opens it for reading only, taking no write lock, so another program writing
    to it never makes a read wait; a register that needs upgrading to this version (or does not
    exist yet) is opened for writing once, to upgrade (or make) it."""
    path = Path(path)
    if readonly and path.exists():
        conn = _connect_readonly(path)
        if conn is not None:
            return conn
    conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_SECONDS)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        # Foreign keys are checked from here on; the schema upgrade rebuilds a table, which they would refuse.
        conn.execute("PRAGMA foreign_keys=OFF")
        with transaction(conn):
            # executescript() would commit early; run the statements inside this transaction.
            _create(conn)
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                raise RegisterError(
                    f"{path} was written by a newer cmrg (schema {row[0]}); upgrade cmrg-excel to use it"
                )
            elif int(row[0]) < SCHEMA_VERSION:
                _migrate(conn, int(row[0]))
        conn.execute("PRAGMA foreign_keys=ON")
    except RegisterError:
        conn.close()
        raise
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_busy(exc):
            raise RegisterBusy(f"{BUSY}; nothing was changed. Run the command again when it has finished.") from None
        raise RegisterError(f"{path} is not a usable register: {exc}") from None
    return conn


def _create(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA.split(";\n"):
        if statement.strip():
            conn.execute(statement)


def _connect_readonly(path: Path) -> sqlite3.Connection | None:
    """A read-only connection, or None when the register must first be upgraded (or made)."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                               timeout=BUSY_SECONDS)
    except sqlite3.DatabaseError as exc:
        raise RegisterError(f"{path} is not a usable register: {exc}") from None
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_busy(exc):
            raise RegisterBusy(f"{BUSY}; nothing was read. Run the command again when it has finished.") from None
        if "no such table" in str(exc):
            return None  # an empty file: made into a register by a writing open
        raise RegisterError(f"{path} is not a usable register: {exc}") from None
    if row is None or int(row[0]) < SCHEMA_VERSION:
        conn.close()
        return None
    if int(row[0]) > SCHEMA_VERSION:
        conn.close()
        raise RegisterError(f"{path} was written by a newer cmrg (schema {row[0]}); upgrade cmrg-excel to use it")
    return conn


def _migrate(conn: sqlite3.Connection, found: int) -> None:
    """Bring an older register up to SCHEMA_VERSION (inside the opening transaction, foreign keys off)."""
    if found < 3:
        _rebuild_submissions(conn)
    for _version, columns in sorted(MIGRATIONS.items()):
        for table, column, kind in columns:
            have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    if found < 3:
        _mark_rechecks(conn)
    _create(conn)  # indexes of rebuilt tables
    bad = conn.execute("PRAGMA foreign_key_check").fetchall()
    if bad:
        raise RegisterError(f"the register's links between tables are broken ({len(bad)} row(s)); it was not upgraded")
    conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))


def _rebuild_submissions(conn: sqlite3.Connection) -> None:
    """Schema 3: the same bytes may be registered again (after a refusal caused by our own limits),
    so file_sha256 is no longer UNIQUE. SQLite cannot drop a constraint: copy into a new table."""
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name='submissions'").fetchone()[0]
    if "UNIQUE" not in sql.upper():
        return
    new_sql = sql.replace("file_sha256    TEXT NOT NULL UNIQUE", "file_sha256    TEXT NOT NULL")
    if new_sql == sql:  # written differently: rebuild from the column list
        import re

        new_sql = re.sub(r"(file_sha256\s+TEXT\s+NOT\s+NULL)\s+UNIQUE", r"\1", sql, flags=re.I)
    new_sql = new_sql.replace("CREATE TABLE submissions", "CREATE TABLE submissions_v3", 1)
    new_sql = new_sql.replace('CREATE TABLE "submissions"', "CREATE TABLE submissions_v3", 1)
    columns = ", ".join(r[1] for r in conn.execute("PRAGMA table_info(submissions)"))
    conn.execute(new_sql)
    conn.execute(f"INSERT INTO submissions_v3 ({columns}) SELECT {columns} FROM submissions")
    conn.execute("DROP TABLE submissions")
    conn.execute("ALTER TABLE submissions_v3 RENAME TO submissions")


# Problems whose cause is one of our own limits, not what the owner wrote: the same bytes are
# checked again when they come back (issue 17). Written by ingest; used here to mark old rows.
RECHECK_CODES = ("too-large", "reader-limit", "truncated")


def _mark_rechecks(conn: sqlite3.Connection) -> None:
    for sub_id, problems in conn.execute("SELECT id, problems FROM submissions WHERE outcome='rejected'").fetchall():
        try:
            items = json.loads(problems or "[]")
        except ValueError:
            continue
        for p in items if isinstance(items, list) else []:
            code = p.get("code") if isinstance(p, dict) else None
            crashed = code == "unreadable" and any(w in str(p.get("found", "")) for w in (
                "took longer than", "stopped the reading process"))
            if code in RECHECK_CODES or crashed:
                conn.execute("UPDATE submissions SET recheck=1 WHERE id=?", (sub_id,))
                break


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One all-or-nothing write: BEGIN IMMEDIATE ... COMMIT, rolled back on any error. Another
    program holding the register longer than BUSY_SECONDS raises :class:`RegisterBusy`."""
    _busy_safe(conn, "BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        _busy_safe(conn, "COMMIT")


def open_register(workspace, *, readonly: bool = False) -> sqlite3.Connection:
    """The workspace's register connection (``readonly``: for commands that only read it)."""
    return connect(workspace.register_path, readonly=readonly)


# --- the group transactions ingest files in (each file in its own savepoint) ------------------
def begin(conn: sqlite3.Connection) -> None:
    """Start a write transaction, waiting up to BUSY_SECONDS for another writer."""
    _busy_safe(conn, "BEGIN IMMEDIATE")


def commit(conn: sqlite3.Connection) -> None:
    _busy_safe(conn, "COMMIT")


def rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


@contextmanager
def savepoint(conn: sqlite3.Connection) -> Iterator[None]:
    """One file's registration inside the open transaction: all of it or none of it."""
    _busy_safe(conn, "SAVEPOINT one_file")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK TO one_file")
        conn.execute("RELEASE one_file")
        raise
    conn.execute("RELEASE one_file")


def _busy_safe(conn: sqlite3.Connection, sql: str) -> None:
    try:
        conn.execute(sql)
    except sqlite3.OperationalError as exc:
        if is_busy(exc):
            raise RegisterBusy(f"{BUSY}; nothing was changed. Run the command again when it has finished.") from None
        raise


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


def rounds(conn: sqlite3.Connection, include_withdrawn: bool = False) -> list[str]:
    """Rounds in the order they were first issued (a round whose every workbook was withdrawn as
    issued by mistake only with ``include_withdrawn``)."""
    having = "" if include_withdrawn else " HAVING SUM(CASE WHEN status = 'withdrawn' THEN 0 ELSE 1 END) > 0"
    return [r[0] for r in conn.execute(
        f"SELECT round FROM issues GROUP BY round{having} ORDER BY MIN(generated_at), round")]


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
    recheck: bool = False  # refused by our own limits: the same bytes are checked again


def known_files(conn: sqlite3.Connection) -> dict[str, Known]:
    """Every file ever received, by SHA-256 (accepted or rejected): its latest receipt."""
    return {
        r[0]: Known(r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]))
        for r in conn.execute(
            "SELECT file_sha256, id, outcome, status, stored_path, received_at, contract_id, round, recheck "
            "FROM submissions ORDER BY id")
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
    mapping, entered, recheck, named_for)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"""
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
                   inbox_source: str | None = None, entered: dict | None = None, recheck: bool = False,
                   named_for: list[str] | None = None) -> int:
    """Record one received file (call inside :func:`transaction`): the submission, its answers
    (objects with the attributes of :class:`cmrg_excel.intake.check.Answer`) and actions, the
    superseding of the previous current return, and the inbox copy still to remove."""
    cur = conn.execute(_INSERT_SUBMISSION, (
        sha256, original_name, stored_path, received_at, outcome, status, token, contract_id, round,
        framework_hash, supersedes, corrects, attested_name, attested_role, attested_on,
        json.dumps(problems or [], ensure_ascii=False), json.dumps(corrections or {}, ensure_ascii=False),
        json.dumps(mapping, ensure_ascii=False) if mapping else None,
        json.dumps(entered, ensure_ascii=False) if entered is not None else None, int(recheck),
        json.dumps(named_for, ensure_ascii=False) if named_for else None,
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
        conn.execute("INSERT INTO inbox_pending (file_sha256, source) SELECT ?, ? WHERE NOT EXISTS "
                     "(SELECT 1 FROM inbox_pending WHERE file_sha256=? AND source=?)",
                     (sha256, inbox_source, sha256, inbox_source))
    return sub_id


def pending_removals(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """(sha256, inbox source, stored path) of registered files whose inbox copy may still exist."""
    return [tuple(r) for r in conn.execute(
        "SELECT p.file_sha256, p.source, (SELECT s.stored_path FROM submissions s WHERE s.file_sha256 = p.file_sha256 "
        "ORDER BY s.id DESC LIMIT 1) FROM inbox_pending p")]


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


# --- export -----------------------------------------------------------------------------
def export_answers(workspace, out: str | Path, round: str | None = None, include_superseded: bool = False) -> Path:
    """Write :func:`answers` to ``out``: ``.xlsx`` as an Excel Table (filters, frozen header,
    people's text always as text) or ``.csv`` (cells that a spreadsheet would run as a
    formula get a leading ``'``). Both carry, for each answer, the contract details its return
    corrects (``details_to_correct``); the .xlsx also lists them on a sheet of their own."""
    import pandas as pd

    from .details import COLUMNS as DETAIL_COLUMNS, by_submission, latest_corrections

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ValueError(f"{out.name}: choose a file ending in .xlsx or .csv")
    conn = open_register(workspace, readonly=True)  # an export never waits for a writer
    try:
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
        from ..core.textsafe import write_csv

        rows = []
        for rec in df.to_dict("records"):
            rows.append({k: _export_value(v, csv=True) for k, v in rec.items()})
        return write_csv(out, list(df.columns), rows)
    rows = [[_export_value(v) for v in r] for r in df.itertuples(index=False)]
    which = f"round {round}" if round else "every round"
    write_table_xlsx(out, TableSheet(
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


@dataclass
class TableSheet:
    """One sheet of a :func:`write_table_xlsx` workbook.

    ``title`` and ``note`` go above the table (rows 1 and 2, the table from row 4). Only the
    first ``printed`` columns print (all of them when None; none, just the title and note,
    when 0: a data sheet that would run to hundreds of pages says so instead)."""

    name: str
    columns: list[str]
    rows: list[list[object]]
    widths: dict[str, float] | None = None
    title: str | None = None
    note: str | None = None
    printed: int | None = None


def write_table_xlsx(path: Path, sheet: str | TableSheet, columns: list[str] | None = None,
                     rows: list[list[object]] | None = None, widths: dict[str, float] | None = None,
                     extra: list = ()) -> Path:
    """An .xlsx of one or more sheets, each an Excel Table with filters and a frozen header.
    Strings are always written as text (never formulas or links).

    Sheets are :class:`TableSheet` (or ``(name, columns, rows)`` tuples in ``extra``). A
    column not in ``widths`` is as wide as its longest value (at most 60 characters, or 40
    for text without spaces, such as file paths and hashes, which is not wrapped). Text in
    columns 40 or more wide wraps, in rows tall enough to show it. Each sheet prints
    landscape, scaled to fit its printed columns across the page, its header row repeated on
    every page and the file and sheet name in the footer."""
    import os

    import xlsxwriter

    from ..core.textsafe import visible
    from ..kit.styles import FastFormulaWorksheet, Styles, print_setup, row_height, wrapped_height

    first = sheet if isinstance(sheet, TableSheet) else TableSheet(sheet, list(columns or []), list(rows or []), widths)
    sheets = [first] + [x if isinstance(x, TableSheet) else TableSheet(*x) for x in extra]
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                        "strings_to_numbers": False, "constant_memory": False})
    wb.worksheet_class = FastFormulaWorksheet
    st = Styles(wb)
    header = st.header
    # every cell at the top of its row, level with the first line of any wrapped text beside it
    date_fmt = wb.add_format({"num_format": "dd/mm/yyyy", "align": "left", "valign": "top"})
    dt_fmt = wb.add_format({"num_format": "dd/mm/yyyy hh:mm", "align": "left", "valign": "top"})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    top = wb.add_format({"valign": "top"})
    for spec in sheets:
        name, cols, data = spec.name, spec.columns, spec.rows
        ws = wb.add_worksheet(name)
        hdr = 3 if (spec.title or spec.note) else 0
        longest = [len(h) for h in cols]
        spaced = [False] * len(cols)
        for r, row in enumerate(data, start=hdr + 1):
            for c, v in enumerate(row):
                if v is None or v == "":
                    continue
                if isinstance(v, dt.datetime):
                    if v.tzinfo is not None:
                        v = v.astimezone(dt.timezone.utc).replace(tzinfo=None)
                    plain = v.time() == dt.time()
                    ws.write_datetime(r, c, v, date_fmt if plain else dt_fmt)
                    shown = 10 if plain else 16
                elif isinstance(v, dt.date):
                    ws.write_datetime(r, c, dt.datetime.combine(v, dt.time()), date_fmt)
                    shown = 10
                elif isinstance(v, bool):
                    ws.write_boolean(r, c, v)
                    shown = 5
                elif isinstance(v, (int, float)):
                    ws.write_number(r, c, v)
                    shown = len(f"{v:g}") if isinstance(v, float) else len(str(v))
                else:
                    text = visible(str(v), lines=True)  # a control character shown, never stored raw
                    ws.write_string(r, c, text)
                    shown = max(len(line) for line in text.split("\n"))
                    spaced[c] = spaced[c] or any(ch.isspace() for ch in text)
                if c < len(longest):
                    longest[c] = max(longest[c], shown)
        ws.add_table(hdr, 0, hdr + max(1, len(data)), max(0, len(cols) - 1), {
            "columns": [{"header": h, "header_format": header} for h in cols], "style": "Table Style Medium 2",
            "name": "".join(ch for ch in name if ch.isalnum()) or "Table1",
        })
        wrapped = []
        col_widths = []
        for c, h in enumerate(cols):
            if h in (spec.widths or {}):
                width = spec.widths[h]
                wraps = width >= 40
            else:  # text without spaces (a path, a hash) is cut at the edge rather than broken anywhere
                width = min(60 if spaced[c] else 40, max(10, longest[c] + 2))
                wraps = width >= 40 and spaced[c]
            ws.set_column(c, c, width, wrap if wraps else top)  # the format of the cells written without one
            col_widths.append(width)
            if wraps:
                wrapped.append((c, width))
        for r, row in enumerate(data, start=hdr + 1):
            height = wrapped_height(*[(row[c], width) for c, width in wrapped
                                      if c < len(row) and isinstance(row[c], str)])
            if height:
                ws.set_row(r, min(height, 409))  # Excel's tallest row
        printed = len(cols) if spec.printed is None else spec.printed
        span = max(printed, 1) - 1 if printed else min(len(cols), 6) - 1
        if spec.title:
            ws.set_row(0, 24)
            ws.write_string(0, 0, spec.title, st.title)
        if spec.note:
            ws.merge_range(1, 0, 1, max(span, 0), spec.note, st.note) if span > 0 else ws.write_string(1, 0, spec.note,
                                                                                                        st.note)
            ws.set_row(1, row_height((spec.note, sum(col_widths[: span + 1]))))
        ws.freeze_panes(hdr + 1, 0)
        footer = f"{path.name} | {name}"
        if printed:
            # the table's printed columns only: text running on past them (a hash) would widen the page
            ws.print_area(0, 0, hdr + max(1, len(data)), printed - 1)
            print_setup(ws, landscape=True, repeat_to_row=hdr, left_footer=footer, widths=col_widths[:printed])
        else:
            ws.print_area(0, 0, 1, span)
            print_setup(ws, landscape=True, left_footer=footer, widths=col_widths[: span + 1])
    wb.close()
    tmp.replace(path)
    return path
