"""Decisions of the secretariat, recorded: the file name never decides, people do.

* **withdraw** an accepted return (its answers were another contract's, it was sent in error):
  it leaves the summary and the export, the contract is outstanding again and ``cmrg chase``
  asks for a new return, saying why; the file, the submission and its answers are kept.
* **reinstate** a withdrawn return (it counts again), unless a newer return counts now.
* **confirm** a return that needs a look (its file was named for another contract): it stands.
* **withdraw a workbook** issued by mistake (``generate --force`` on the wrong contract): a
  return made on it is refused, and the workbook it had replaced in its round is open again.
* **withdraw a round** issued by mistake (a mistyped round name): every workbook of it, and it
  is no longer the default round of ``status``, ``chase`` or ``summary``.

Each is one transaction with its row in the register's decisions table (who: the operating
system user and machine; when; why) through :mod:`cmrg_excel.register.audit`, and is taken
under the workspace lock so it never lands in the middle of an ingest run.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import register as reg
from ..core.errors import CmrgError
from ..register import audit

MAX_REASON = 500


class DecideError(CmrgError):
    """Nothing to decide on, or a decision that would leave the register inconsistent."""


@dataclass(frozen=True)
class Decided:
    action: str
    contract_id: str | None
    round: str
    submission_id: int | None = None
    tokens: tuple[str, ...] = ()
    reopened: tuple[str, ...] = ()  # workbooks open again (they had been replaced by one withdrawn)
    received_at: str | None = None
    name: str | None = None


def check_reason(reason: str | None) -> str:
    """A reason is required: one line of plain text."""
    text = " ".join((reason or "").split())
    if not text:
        raise DecideError("give the reason for the decision with --reason \"...\": it is kept in the register")
    if len(text) > MAX_REASON:
        raise DecideError(f"the reason is {len(text)} characters long; keep it to {MAX_REASON}")
    return text


def _round_for(conn, contract_id: str, round: str | None) -> str:
    issues = [i for i in reg.list_issues(conn) if i.contract_id == contract_id]
    if not issues:
        raise DecideError(f"{contract_id} has never been issued a workbook: check the contract ID")
    rounds = [r for r in reg.rounds(conn) if any(i.round == r for i in issues)]
    if round is None:
        if not rounds:
            raise DecideError(f"{contract_id} has no round open; name one with --round")
        return rounds[-1]
    if not any(i.round == round for i in issues):
        raise DecideError(f"{contract_id} was not issued a workbook in round {round!r}; its rounds: "
                          f"{', '.join(sorted({i.round for i in issues}))}")
    return round


def _pick(conn, contract_id: str, round: str, submission_id: int | None, status: str, verb: str) -> dict:
    returns = audit.returns_of(conn, contract_id, round)
    if submission_id is not None:
        chosen = [r for r in returns if r["id"] == submission_id]
        if not chosen:
            raise DecideError(f"submission {submission_id} is not an accepted return of {contract_id} in round {round}")
        if chosen[0]["status"] != status:
            raise DecideError(f"submission {submission_id} is {chosen[0]['status']}, so it cannot be {verb}")
        return chosen[0]
    chosen = [r for r in returns if r["status"] == status]
    if not chosen:
        what = {"current": "accepted return", "withdrawn": "withdrawn return"}[status]
        raise DecideError(f"{contract_id} has no {what} in round {round}")
    return chosen[0]  # newest first


def withdraw_return(ws, contract_id: str, reason: str, *, round: str | None = None,
                    submission_id: int | None = None, wait_seconds: float = 10.0) -> Decided:
    """Withdraw the contract's accepted return (the current one, or ``submission_id``)."""
    reason = check_reason(reason)
    with ws.lock("decide", wait_seconds=wait_seconds):
        conn = reg.open_register(ws)
        try:
            round = _round_for(conn, contract_id, round)
            sub = _pick(conn, contract_id, round, submission_id, "current", "withdrawn")
            audit.set_return_status(conn, sub["id"], "withdrawn", "withdraw-return", reason)
        finally:
            conn.close()
    return Decided("withdraw-return", contract_id, round, sub["id"], received_at=sub["received_at"],
                   name=sub["original_name"])


def reinstate_return(ws, contract_id: str, reason: str, *, round: str | None = None,
                     submission_id: int | None = None, wait_seconds: float = 10.0) -> Decided:
    """Make a withdrawn return count again (the latest withdrawn one, or ``submission_id``)."""
    reason = check_reason(reason)
    with ws.lock("decide", wait_seconds=wait_seconds):
        conn = reg.open_register(ws)
        try:
            round = _round_for(conn, contract_id, round)
            sub = _pick(conn, contract_id, round, submission_id, "withdrawn", "reinstated")
            current = [r for r in audit.returns_of(conn, contract_id, round) if r["status"] == "current"]
            if current:
                c = current[0]
                raise DecideError(
                    f"{contract_id}'s return {c['original_name']} (submission {c['id']}, received "
                    f"{c['received_at'][:10]}) is current now; withdraw it first if the earlier one should count")
            audit.set_return_status(conn, sub["id"], "current", "reinstate-return", reason)
        finally:
            conn.close()
    return Decided("reinstate-return", contract_id, round, sub["id"], received_at=sub["received_at"],
                   name=sub["original_name"])


def confirm_return(ws, contract_id: str, reason: str, *, round: str | None = None,
                   wait_seconds: float = 10.0) -> Decided:
    """Record that the contract's current return, which needed a look, stands."""
    reason = check_reason(reason)
    with ws.lock("decide", wait_seconds=wait_seconds):
        conn = reg.open_register(ws)
        try:
            round = _round_for(conn, contract_id, round)
            sub = _pick(conn, contract_id, round, None, "current", "confirmed")
            audit.confirm_return(conn, sub["id"], reason)
        finally:
            conn.close()
    return Decided("confirm-return", contract_id, round, sub["id"], received_at=sub["received_at"],
                   name=sub["original_name"])


def _no_returns(conn, issues: list) -> None:
    counted = {(i.contract_id, i.round) for i in issues}
    kept = [(cid, rnd, r) for cid, rnd in sorted(counted)
            for r in audit.returns_of(conn, cid, rnd) if r["status"] == "current"]
    if kept:
        shown = ", ".join(f"{cid} (submission {r['id']})" for cid, _rnd, r in kept[:5])
        raise DecideError(f"{kept[0][0]} has an accepted return in round {kept[0][1]}: {shown}. Withdraw the "
                          "return first (cmrg decide withdraw CONTRACT --round ROUND --reason ...) if the workbook "
                          "really was issued by mistake")


def withdraw_workbook(ws, contract_id: str, round: str, reason: str, *, wait_seconds: float = 10.0) -> Decided:
    """Withdraw the contract's open workbook in ``round``, issued by mistake."""
    reason = check_reason(reason)
    with ws.lock("decide", wait_seconds=wait_seconds):
        conn = reg.open_register(ws)
        try:
            round = _round_for(conn, contract_id, round)
            open_ = [i for i in reg.list_issues(conn, round, open_only=True) if i.contract_id == contract_id]
            if not open_:
                raise DecideError(f"{contract_id} has no open workbook in round {round} to withdraw")
            _no_returns(conn, open_)
            reopened = audit.withdraw_issues(conn, [i.token for i in open_], "withdraw-workbook", reason)
        finally:
            conn.close()
    return Decided("withdraw-workbook", contract_id, round, tokens=tuple(i.token for i in open_),
                   reopened=tuple(reopened))


def withdraw_round(ws, round: str, reason: str, *, wait_seconds: float = 10.0) -> Decided:
    """Withdraw every open workbook of ``round``, issued by mistake."""
    reason = check_reason(reason)
    with ws.lock("decide", wait_seconds=wait_seconds):
        conn = reg.open_register(ws)
        try:
            known = reg.rounds(conn)
            if round not in known:
                raise DecideError(f"round {round!r} has no workbooks to withdraw; rounds issued: "
                                  f"{', '.join(known) or 'none'}")
            open_ = reg.list_issues(conn, round, open_only=True)
            _no_returns(conn, open_)
            reopened = audit.withdraw_issues(conn, [i.token for i in open_], "withdraw-round", reason)
        finally:
            conn.close()
    return Decided("withdraw-round", None, round, tokens=tuple(i.token for i in open_), reopened=tuple(reopened))


def history(ws, contract_id: str | None = None, round: str | None = None) -> list[audit.Decision]:
    """Every decision recorded, oldest first (reads only)."""
    if not ws.register_path.exists():
        return []
    conn = reg.open_register(ws, readonly=True)
    try:
        return audit.decisions(conn, contract_id, round)
    finally:
        conn.close()
