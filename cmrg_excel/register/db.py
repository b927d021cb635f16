"""The register's database: its schema and upgrades, connections, transactions and the clock.

One SQLite file per workspace (``register.sqlite``). Every other module of the register
runs its SQL on a connection from :func:`connect` (or :func:`open_register`), inside
:func:`transaction` when it writes.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..core.errors import BusyError

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
