"""The register's database: its schema and upgrades, connections, transactions and the clock.

One SQLite file per workspace (``register.sqlite``). Every other module of the register runs
its SQL on a connection from :func:`connect` (or :func:`open_register`), inside
:func:`transaction` when it writes; ingest files each return in a :func:`savepoint` of a
group transaction (:func:`begin`, :func:`commit`). Commands that only read open it read-only
and never wait for a writer; a writer held up longer than :data:`BUSY_SECONDS` is
:class:`RegisterBusy` (exit code 3).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..core.errors import BusyError

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
