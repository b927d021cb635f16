"""The issue ledger: every workbook sent, the contracts and frameworks it was made from, and
which review round is current.

The checks of a return start here (a workbook we issued, still open, from the contract's
latest round); so do status, chase and corrections. Rounds are ordered by when they were
first issued: the last one is the current round.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from typing import Mapping

from ..core import framework as fwmod
from ..core.errors import CmrgError
from .audit import withdrawn_rounds
from .db import now

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


class RoundError(CmrgError):
    """A review round asked for that was never issued, or no round issued yet."""


def choose_round(known: list[str], round: str | None, withdrawn: Mapping[str, object] | None = None) -> str:
    """The round asked for, checked against the rounds issued (``known``, oldest first), or the
    current one (the latest issued) when none is asked for; never a round withdrawn as issued by
    mistake (``withdrawn``: round -> the decision that withdrew it, :func:`.audit.withdrawn_rounds`)."""
    if round is not None and withdrawn and round in withdrawn:
        d = withdrawn[round]
        on = _day(d.made_at)
        raise RoundError(f"round {round!r} was withdrawn" + (f" on {on:%d/%m/%Y}" if on else "")
                         + f" by {d.os_user}: {d.reason}" + (f"; rounds issued: {', '.join(known)}" if known else ""))
    if not known:
        raise RoundError("no workbooks have been issued yet: run 'cmrg generate --round NAME' first")
    if round is None:
        return known[-1]
    if round not in known:
        raise RoundError(f"round {round!r} has not been issued; rounds issued: {', '.join(known)}")
    return round


def _day(text: str | None) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(str(text)).date() if text else None
    except ValueError:
        return None


def current_round(conn: sqlite3.Connection, round: str | None = None) -> str:
    """:func:`choose_round` over the register: the round asked for, checked, or the current one."""
    return choose_round(rounds(conn), round, withdrawn_rounds(conn))


def check_round(conn: sqlite3.Connection, round: str | None) -> None:
    """Stop with :class:`RoundError` when ``round`` names a round that was never issued, or was
    withdrawn (rather than quietly finding nothing for it, as a filter would). None (every
    round) passes."""
    if round is not None:
        current_round(conn, round)
