"""The register's audit trail: every ingest run and every decision of the secretariat.

A report file can be deleted; these rows cannot be lost with it. An ingest run is a row from
the moment it starts (``running``) to its end (``finished``, or ``stopped`` with the reason);
a run killed part way is marked ``interrupted`` by the next one. A decision (a return
withdrawn, reinstated or confirmed after a look; a workbook or a whole round withdrawn) is a
row with who made it (the operating-system user and the machine), when and why, next to the
change it made, in the same transaction.
"""

from __future__ import annotations

import getpass
import platform
import sqlite3
from dataclasses import dataclass

from .db import now, transaction

RUN_STATES = ("running", "finished", "stopped", "interrupted")
ACTIONS = ("withdraw-return", "reinstate-return", "confirm-return", "withdraw-workbook", "withdraw-round")


def who() -> tuple[str, str]:
    """(operating-system user, machine name) of whoever runs this command."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in the environment (a service account, say)
        user = "unknown"
    return user or "unknown", platform.node() or "unknown"


# --- ingest runs ----------------------------------------------------------------------------
def start_run(conn: sqlite3.Connection, started_at: str | None = None) -> int:
    """Record an ingest run starting; earlier runs still 'running' were killed part way."""
    user, machine = who()
    with transaction(conn):
        conn.execute("UPDATE ingest_runs SET state='interrupted' WHERE state='running'")
        cur = conn.execute("INSERT INTO ingest_runs (started_at, os_user, machine, state) VALUES (?,?,?,?)",
                           (started_at or now(), user, machine, "running"))
    return cur.lastrowid


def finish_run(conn: sqlite3.Connection, run_id: int, *, state: str, counts: dict[str, int],
               report_path: str | None = None, message: str | None = None) -> None:
    """Record how an ingest run ended (``counts``: files, accepted, rejected, duplicates, skipped, recovered)."""
    if state not in RUN_STATES:
        raise ValueError(state)
    with transaction(conn):
        conn.execute(
            "UPDATE ingest_runs SET finished_at=?, state=?, files=?, accepted=?, rejected=?, duplicates=?, "
            "skipped=?, recovered=?, report_path=?, message=? WHERE id=?",
            (now(), state, *(int(counts.get(k, 0)) for k in
                             ("files", "accepted", "rejected", "duplicates", "skipped", "recovered")),
             report_path, message, run_id))


def ingest_runs(conn: sqlite3.Connection) -> list[dict]:
    """Every ingest run, oldest first, as plain dicts."""
    return [dict(r) for r in conn.execute("SELECT * FROM ingest_runs ORDER BY id")]


# --- decisions ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    id: int
    made_at: str
    os_user: str
    machine: str
    action: str
    contract_id: str | None
    round: str | None
    submission_id: int | None
    token: str | None
    reason: str


def _record(conn: sqlite3.Connection, action: str, reason: str, *, contract_id: str | None = None,
            round: str | None = None, submission_id: int | None = None, token: str | None = None) -> int:
    if action not in ACTIONS:
        raise ValueError(action)
    user, machine = who()
    cur = conn.execute(
        "INSERT INTO decisions (made_at, os_user, machine, action, contract_id, round, submission_id, token, reason) "
        "VALUES (?,?,?,?,?,?,?,?,?)", (now(), user, machine, action, contract_id, round, submission_id, token, reason))
    return cur.lastrowid


def decisions(conn: sqlite3.Connection, contract_id: str | None = None, round: str | None = None) -> list[Decision]:
    """Decisions, oldest first (of one contract and round when given)."""
    sql, args = "SELECT * FROM decisions WHERE 1=1", []
    if contract_id is not None:
        sql += " AND contract_id=?"
        args.append(contract_id)
    if round is not None:
        sql += " AND round=?"
        args.append(round)
    return [Decision(**dict(r)) for r in conn.execute(sql + " ORDER BY id", args)]


def returns_of(conn: sqlite3.Connection, contract_id: str, round: str) -> list[dict]:
    """The accepted returns of a contract in a round, newest first."""
    return [dict(r) for r in conn.execute(
        "SELECT id, contract_id, round, outcome, status, original_name, received_at, token, problems "
        "FROM submissions WHERE contract_id=? AND round=? AND outcome='accepted' ORDER BY id DESC",
        (contract_id, round))]


def set_return_status(conn: sqlite3.Connection, submission_id: int, status: str, action: str, reason: str) -> int:
    """Withdraw or reinstate an accepted return and record the decision, in one transaction."""
    with transaction(conn):
        row = conn.execute("SELECT contract_id, round, token FROM submissions WHERE id=?", (submission_id,)).fetchone()
        conn.execute("UPDATE submissions SET status=? WHERE id=? AND outcome='accepted'", (status, submission_id))
        return _record(conn, action, reason, contract_id=row[0], round=row[1], submission_id=submission_id,
                       token=row[2])


def confirm_return(conn: sqlite3.Connection, submission_id: int, reason: str) -> int:
    """Record that a return flagged "needs a look" was looked at and stands."""
    with transaction(conn):
        row = conn.execute("SELECT contract_id, round, token FROM submissions WHERE id=?", (submission_id,)).fetchone()
        return _record(conn, "confirm-return", reason, contract_id=row[0], round=row[1], submission_id=submission_id,
                       token=row[2])


def withdraw_issues(conn: sqlite3.Connection, tokens: list[str], action: str, reason: str) -> list[str]:
    """Withdraw open workbooks issued by mistake (one decision row each). A workbook that had
    replaced an earlier one in its round opens that one again. Returns the tokens reopened."""
    reopened = []
    with transaction(conn):
        for token in tokens:
            row = conn.execute("SELECT contract_id, round FROM issues WHERE token=?", (token,)).fetchone()
            conn.execute("UPDATE issues SET status='withdrawn' WHERE token=?", (token,))
            for (prev,) in conn.execute("SELECT token FROM issues WHERE superseded_by=? AND status='superseded'",
                                        (token,)).fetchall():
                conn.execute("UPDATE issues SET status='issued', superseded_by=NULL WHERE token=?", (prev,))
                reopened.append(prev)
            _record(conn, action, reason, contract_id=row[0], round=row[1], token=token)
    return reopened


def withdrawn_rounds(conn: sqlite3.Connection) -> dict[str, Decision]:
    """Rounds whose every workbook was withdrawn, each with the decision that withdrew the last one."""
    out: dict[str, Decision] = {}
    rows = conn.execute("SELECT round FROM issues GROUP BY round "
                        "HAVING SUM(CASE WHEN status = 'withdrawn' THEN 0 ELSE 1 END) = 0").fetchall()
    for (rnd,) in rows:
        found = [d for d in decisions(conn, round=rnd) if d.action in ("withdraw-round", "withdraw-workbook")]
        if found:
            out[rnd] = found[-1]
    return out
