"""Submissions: every file received (accepted or rejected, never deleted), the answers and
actions of accepted returns, and the inbox copies still to remove.

Written by ingest, each file all or nothing: :func:`add_submission` runs inside a savepoint
of its own, within a transaction that ingest commits every few dozen files.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from .db import transaction

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
