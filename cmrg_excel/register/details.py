"""Contract details the owners say are wrong: each correction a return carries, beside what was issued.

Owners write corrections beside their contract details (a new owner, an email, a value, an
end date), or change the detail itself. They are kept with each submission
(``submissions.corrections``); this module lines them up with the details the workbook was
issued with, as plain data, so the ingest output and report, ``cmrg status`` and the
register export can all show the secretariat what to put right on the contract list before
the next round goes to the wrong person. No SQL here: it works on the register's frames.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Iterable, Mapping

from ..kit import layout as L

COLUMNS = ["Contract", "Round", "Detail", "As issued", "Owner's correction", "Return", "Outcome", "Received (UTC)"]


@dataclass(frozen=True)
class DetailCorrection:
    contract_id: str
    round: str
    key: str            # the layout's field key, e.g. "owner_email"
    label: str          # as the Contract sheet shows it, e.g. "Owner email"
    held: str           # the detail the workbook was issued with, as text
    corrected: str      # what the owner says it should be
    submission_id: int | None = None
    outcome: str = ""   # of that return: accepted or rejected
    received_at: str = ""

    def row(self) -> list[object]:
        received = dt.datetime.fromisoformat(self.received_at) if self.received_at else None
        return [self.contract_id, self.round, self.label, self.held, self.corrected, self.submission_id, self.outcome,
                received]

    def line(self) -> str:
        return f"{self.label}: {self.held} -> {self.corrected}"


def held_text(key: str, value: object) -> str:
    """A detail of a contract snapshot as the Contract sheet showed it."""
    kind = next((f.kind for f in L.CONTRACT_FIELDS if f.key == key), "text")
    if value is None or value == "":
        return "(blank)"
    if kind == "date" and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10]).strftime("%d/%m/%Y")
        except ValueError:
            return value
    if kind == "money" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"£{value:,.0f}" if float(value).is_integer() else f"£{value:,.2f}"
    return str(value)


def describe(corrections: Mapping[str, object], snapshot: Mapping[str, object], *, contract_id: str, round: str,
             submission_id: int | None = None, outcome: str = "", received_at: str = "") -> list[DetailCorrection]:
    """The corrections of one return, in the Contract sheet's order, beside the details issued."""
    out = []
    for f in L.CONTRACT_FIELDS:
        value = corrections.get(f.key)
        if value in (None, ""):
            continue
        out.append(DetailCorrection(contract_id, round, f.key, f.label, held_text(f.key, snapshot.get(f.key)),
                                    str(value), submission_id, outcome, received_at))
    return out


def _corrections_of(sub: Mapping[str, object]) -> dict:
    raw = sub.get("corrections") or "{}"
    try:
        corrections = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except (TypeError, ValueError):
        return {}
    return corrections if isinstance(corrections, dict) else {}


def by_submission(submissions: Iterable[Mapping[str, object]], issues: Iterable) -> dict[int, list[DetailCorrection]]:
    """Submission id -> the corrections that return carries (returns without any left out)."""
    by_token = {i.token: i for i in issues}
    out: dict[int, list[DetailCorrection]] = {}
    for sub in submissions:
        issue = by_token.get(str(sub.get("token") or ""))
        corrections = _corrections_of(sub)
        if issue is None or not corrections or sub.get("id") is None:
            continue
        out[int(sub["id"])] = describe(corrections, issue.contract_snapshot, contract_id=issue.contract_id,
                                       round=issue.round, submission_id=int(sub["id"]),
                                       outcome=str(sub.get("outcome") or ""),
                                       received_at=str(sub.get("received_at") or ""))
    return out


def latest_corrections(submissions: Iterable[Mapping[str, object]], issues: Iterable, round: str | None = None
                       ) -> list[DetailCorrection]:
    """For each contract and round, the corrections of its newest return (accepted or rejected):
    a newer return replaces what an older one said. ``submissions`` are rows of
    ``register.submissions_frame`` as dicts; ``issues`` the ledger's."""
    by_token = {i.token: i for i in issues}
    newest: dict[tuple[str, str], Mapping[str, object]] = {}
    for sub in submissions:
        issue = by_token.get(str(sub.get("token") or ""))
        if issue is None or (round is not None and issue.round != round):
            continue
        key = (issue.contract_id, issue.round)
        rank = (str(sub.get("received_at") or ""), int(sub.get("id") or 0))
        old = newest.get(key)
        if old is None or rank > (str(old.get("received_at") or ""), int(old.get("id") or 0)):
            newest[key] = sub
    out = []
    for (cid, rnd), sub in sorted(newest.items()):
        corrections = _corrections_of(sub)
        if not corrections:
            continue
        issue = by_token[str(sub.get("token"))]
        out += describe(corrections, issue.contract_snapshot, contract_id=cid, round=rnd,
                        submission_id=int(sub["id"]) if sub.get("id") is not None else None,
                        outcome=str(sub.get("outcome") or ""), received_at=str(sub.get("received_at") or ""))
    return out
