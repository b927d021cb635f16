"""Corrections workbooks: a rejected return sent back, ready to fix.

For a rejected return of a workbook we issued, :func:`issue_corrections` writes a freshly
generated template for the same contract and round to
``outbox/ROUND/corrections/<contract file name>.xlsx`` (where ``cmrg chase`` picks it up)
and records it in the issue ledger as kind ``correction`` with ``reissue_of`` = the
rejected submission. It has a new token and supersedes the workbook the owner used, so:

* everything the owner typed is filled in again (the register keeps it with the rejected
  submission, column ``entered``), right or wrong, including 'Still accurate?' answers of a
  re-review and corrections on the Contract sheet, except the date signed: it is left blank
  and marked like a cell to fix, for the owner to sign the corrected return again (the date
  must be on or after the corrections workbook was issued: see :func:`_sign_again`);
* each problem cell is shaded red and carries a note saying what is wrong, and a first
  sheet, "Fixes needed", lists every fix (and what was put right for them, such as a
  changed contract detail);
* re-review workbooks stay re-reviews (same carried-forward answers, so changed and
  re-confirmed are still told apart against the earlier round);
* a return made on an older framework version that could not be mapped gets its
  corrections workbook on the current version, answers copied across where activities
  correspond (:mod:`cmrg_excel.intake.upgrade`), new activities marked to rate;
* when it comes back fixed, ingest accepts it as the contract's return with
  ``submissions.corrects`` = the rejected submission; a return on the old workbook is then
  rejected with a reason pointing to the corrections workbook.

Which rejected returns get one: the file carried one of our issue tokens, its issue is
still open (not superseded, not an earlier round) and no return for that contract and round
has been accepted since. Returns with no identity (not our workbook, hidden sheet removed)
cannot be placed and get none; nor does another contract's workbook (issued for one contract
but showing another on its Contract sheet), whose answers are most likely that other contract's. The latest rejected return per contract wins. Its
deadline is the original one, or two weeks from today if that is later (moved on to the next
working day).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..kit import layout as L
from .. import register as reg
from . import upgrade
from ..core.contracts import Contract, safe_filename
from ..core.errors import CmrgError
from . import codes as C
from ..kit.files import write_atomic

DAYS_TO_FIX = 14
# Problems the corrections workbook puts right by itself: listed as "done for you".
DONE_FOR_YOU = {
    C.ALTERED_CONTRACT: "The contract details are back as we hold them; if one is wrong, write the correct value "
                        "in column C (Correction).",
    C.ALTERED_METADATA: "This is a new workbook with its identity sheet as issued.",
    C.MISSING_SHEET: "Every sheet is back in this workbook.",
    C.DUPLICATE_ROW: "Each activity has one row again; the first row's answers were kept, so check them.",
    C.STRAY_ANSWER: "Answers typed outside the activity rows were left out; put them on the activity they belong to.",
}
# "wrong-contract": a workbook issued for one contract but showing another on its Contract sheet. Its
# answers are most likely another contract's (status counts it for neither), so they must not be
# filled into a workbook for the contract it was issued to; the owner's note says what to send.
# "empty-return": the workbook came back as sent; a corrections workbook would be the same blank
# workbook again, so the owner is asked to fill in the one they have. (A file merely named for
# another contract is its workbook's return, with a "needs a look" note.)
NOT_CORRECTABLE = {C.WRONG_CONTRACT, C.SUPERSEDED, C.OLD_ROUND, C.UNKNOWN_TOKEN, C.NO_METADATA, C.FRAMEWORK_MISSING,
                   C.UNREADABLE, C.INTERNAL_ERROR, C.CHANGED, C.WITHDRAWN, C.READER_LIMIT, C.EMPTY_RETURN}


def corrections_path(ws, round: str, contract_id: str) -> Path:
    """Where a rejected return's corrections workbook is picked up from, if it exists."""
    return ws.outbox / round / "corrections" / f"{safe_filename(contract_id)}.xlsx"


class CorrectionsError(CmrgError):
    """Corrections workbooks cannot be made (no such round, framework missing)."""


@dataclass(frozen=True)
class Correction:
    contract_id: str
    round: str
    submission_id: int          # the rejected submission it corrects
    path: Path
    path_rel: str
    token: str
    fixes: tuple[str, ...]
    framework_version: str
    upgraded: bool = False      # made on the current framework for a return on an older one


@dataclass
class CorrectionPlan:
    """What one corrections workbook shows, worked out from the register (plain data)."""

    answers: dict[str, dict] = field(default_factory=dict)
    attestation: dict = field(default_factory=dict)
    corrections: dict = field(default_factory=dict)
    annotations: dict[tuple[str, str], str] = field(default_factory=dict)
    fixes: list[str] = field(default_factory=list)
    prefill: dict | None = None
    carried_from: str | None = None


def contract_from_snapshot(snap: dict) -> Contract:
    """The Contract an issue was made for, from its ledger snapshot."""
    def day(key):
        v = snap.get(key)
        return dt.date.fromisoformat(v[:10]) if isinstance(v, str) and v else None

    return Contract(
        contract_id=snap["contract_id"], title=snap.get("title", ""), supplier=snap.get("supplier", ""),
        directorate=snap.get("directorate", ""), owner_name=snap.get("owner_name", ""),
        owner_email=snap.get("owner_email", ""), annual_value_gbp=float(snap.get("annual_value_gbp") or 0),
        total_value_gbp=float(snap.get("total_value_gbp") or 0), start_date=day("start_date"),
        end_date=day("end_date"), risk=snap.get("risk", ""), complexity=snap.get("complexity", ""),
        recommission_date=day("recommission_date"), audit_synergy=snap.get("audit_synergy"),
        last_review_date=day("last_review_date"),
    )


def plan_correction(issue, old_fw, new_fw, entered: dict, problems: list[dict]) -> CorrectionPlan:
    """The answers, notes and fixes of one corrections workbook (pure)."""
    up = upgrade.plan(old_fw, new_fw)
    target = {a.ref: a.ref for a in old_fw.activities} if up is None else up.targets
    new_rows = L.activity_rows(new_fw)
    plan = CorrectionPlan(attestation=dict(entered.get("attestation") or {}),
                corrections=dict(entered.get("corrections") or {}))
    for ref, values in (entered.get("answers") or {}).items():
        new = target.get(ref)
        if new and new not in plan.answers:
            plan.answers[new] = dict(values)
    if issue.prefill:
        plan.carried_from = issue.prefill_round
        plan.prefill = {target[r]: dict(v) for r, v in issue.prefill.items() if target.get(r)}
        for ref, carried in plan.prefill.items():
            plan.answers.setdefault(ref, {})["previous"] = f"{issue.prefill_round}: {carried.get('rating', '')}"

    def note(sheet: str, cell: str, message: str) -> None:
        key = (sheet, cell)
        plan.annotations[key] = (plan.annotations[key] + "\n" + message) if key in plan.annotations else message

    done: list[str] = []
    for p in problems:
        code, sheet, cell, ref, message = (p.get(k) or "" for k in ("code", "sheet", "cell", "ref", "message"))
        if code in DONE_FOR_YOU:
            line = DONE_FOR_YOU[code]
            if line not in done:
                done.append(line)
            continue
        if code == C.OLD_TEMPLATE:
            continue  # said below, once, in terms of this workbook
        if code == C.MISSING_ROW:
            cell = L.ASSESS_BY_KEY["rating"].letter
            message = "the row for this activity was missing from your return: rate it here and give your evidence"
        place = ""
        if sheet == L.ASSESSMENT and ref:
            new = target.get(ref)
            if not new:
                plan.fixes.append(f"Activity {ref} of your workbook has no successor in this version: {message}")
                continue
            letters = "".join(ch for ch in cell if ch.isalpha()) or L.ASSESS_BY_KEY["rating"].letter
            cell = f"{letters}{new_rows[new]}"
            place = L.place_in_words(sheet, cell, new)
            note(sheet, cell, message)
        elif sheet in (L.CONTRACT, L.ATTESTATION) and cell:
            place = L.place_in_words(sheet, cell)
            note(sheet, cell, message)
        elif sheet == L.ASSESSMENT and cell:
            place = L.place_in_words(sheet, cell)
        plan.fixes.append(f"{place}: {message}" if place else message)
    if up is not None:
        sources: dict[str, list[str]] = {}
        for o, n in up.targets.items():
            if n:
                sources.setdefault(n, []).append(o)
        plan.fixes.insert(0, (
            f"This workbook uses the current version {new_fw.version} of the framework; yours was made with version "
            f"{old_fw.version}. Your answers have been copied across where the activities correspond."))
        rating = L.ASSESS_BY_KEY["rating"].letter
        for ref in new_fw.activities:
            olds = sources.get(ref.ref, [])
            if not olds:
                msg = f"New in version {new_fw.version}: please rate this activity and give your evidence."
            elif len(olds) > 1:
                msg = (f"Activities {' and '.join(olds)} of version {old_fw.version} became this one activity; the "
                       f"answers of {olds[0]} were copied: check they fit.")
            else:
                continue
            cell = f"{rating}{new_rows[ref.ref]}"
            note(L.ASSESSMENT, cell, msg)
            plan.fixes.append(f"{L.place_in_words(L.ASSESSMENT, cell, ref.ref)}: {msg}")
    _sign_again(plan, note)
    plan.fixes += [f"Done for you: {line}" for line in done]
    if not plan.fixes:
        plan.fixes.append("Check your answers and send the workbook back.")
    return plan


def _sign_again(plan: CorrectionPlan, note) -> None:
    """The date signed is left blank, marked, for the owner to fill in again.

    The attestation vouches for the answers as they are sent. A corrections workbook comes back
    with answers changed since the first signature, so the date of that signature would vouch
    for answers that were wrong, and ingest rightly wants a date on or after the corrections
    workbook was issued. Keeping the old date unmarked made an owner who fixed every red cell
    fail again; moving the check back to the first issue would accept a signature older than
    the answers it vouches for. Name, role and the confirmation are kept: they still hold.
    """
    cell = L.ATTEST_BY_KEY["date"].cell
    old = plan.attestation.pop("date", None)
    if (L.ATTESTATION, cell) in plan.annotations:
        return  # a problem with the date already says what to enter
    when = ""
    if old:
        try:
            when = f" (your first return was signed on {dt.date.fromisoformat(old[:10]):%d/%m/%Y})"
        except ValueError:
            when = f" (your first return said {old!r})"
    message = (f"sign again: enter the date you sign this corrected return, as dd/mm/yyyy{when}; the date signed "
               "vouches for the answers as you send them")
    note(L.ATTESTATION, cell, message)
    plan.fixes.append(f"{L.ATTESTATION}!{cell}: {message}")


def _candidates(conn, submission_ids: list[int] | None, round: str | None) -> list[dict]:
    """The latest rejected submission per contract and round that a corrections workbook can fix."""
    sql = "SELECT * FROM submissions WHERE outcome='rejected' AND token IS NOT NULL AND entered IS NOT NULL"
    args: list = []
    if submission_ids is not None:
        if not submission_ids:
            return []
        sql += f" AND id IN ({','.join('?' * len(submission_ids))})"
        args += list(submission_ids)
    if round is not None:
        sql += " AND round=?"
        args.append(round)
    latest: dict[tuple[str, str], dict] = {}
    for row in conn.execute(sql + " ORDER BY id", args):
        latest[(row["contract_id"], row["round"])] = dict(row)
    accepted = reg.current_submissions(conn)
    out = []
    for key, sub in latest.items():
        later = accepted.get(key)
        if later is not None and later > sub["id"]:
            continue
        codes = {p.get("code") for p in json.loads(sub["problems"] or "[]") if isinstance(p, dict)}
        if codes & NOT_CORRECTABLE:
            continue
        out.append(sub)
    return out


def issue_corrections(ws, conn=None, *, submission_ids: list[int] | None = None, round: str | None = None,
                      only: list[str] | None = None, today: dt.date | None = None) -> list[Correction]:
    """Write and record a corrections workbook for each rejected return that can have one
    (all such returns, or those of ``submission_ids`` / ``round`` / contracts ``only``)."""
    from ..issue.generate import issue_workbook, spec_for

    own = conn is None
    conn = conn or reg.open_register(ws)
    today = today or dt.date.today()
    fix_by = ws.config.next_working_day(today + dt.timedelta(days=DAYS_TO_FIX))
    try:
        reg.check_round(conn, round)  # a round never issued is an error, not "nothing to correct"
        current = None
        try:
            current = ws.framework()
        except Exception:
            current = None
        made: list[Correction] = []
        wanted = {o.casefold() for o in only} if only else None
        for sub in _candidates(conn, submission_ids, round):
            if wanted is not None and sub["contract_id"].casefold() not in wanted:
                continue
            issue = reg.get_issue(conn, sub["token"])
            if issue is None or issue.status != "issued":
                continue
            old_fw = reg.load_framework(conn, issue.framework_hash)
            if old_fw is None:
                raise CorrectionsError(f"the framework {issue.framework_id} v{issue.framework_version} of "
                                       f"{issue.contract_id}'s workbook is missing from the register")
            if current is not None and current.content_hash == old_fw.content_hash:
                # The same framework in all a rating depends on; the workspace's copy also has the
                # examples of evidence, which definitions stored by earlier versions lack.
                old_fw = current
            new_fw = current if upgrade.plan(old_fw, current) is not None else old_fw
            plan = plan_correction(issue, old_fw, new_fw, json.loads(sub["entered"]),
                                   json.loads(sub["problems"] or "[]"))
            due = max(dt.date.fromisoformat(issue.deadline) if issue.deadline else today, fix_by)
            spec = spec_for(ws, contract_from_snapshot(issue.contract_snapshot), new_fw, issue.round, due,
                            kind="correction", answers=plan.answers, carried_from=plan.carried_from,
                            attestation=plan.attestation, corrections=plan.corrections,
                            annotations=plan.annotations, fixes=plan.fixes)
            path = corrections_path(ws, issue.round, issue.contract_id)
            f = issue_workbook(ws, conn, spec, path, reissue_of=sub["id"], prefill=plan.prefill)
            rel = path.relative_to(ws.root).as_posix()
            _note_in_problems_file(ws, sub, rel)
            made.append(Correction(issue.contract_id, issue.round, sub["id"], path, rel, f.token, tuple(plan.fixes),
                                   new_fw.version, new_fw is not old_fw))
        return made
    finally:
        if own:
            conn.close()


def _note_in_problems_file(ws, sub: dict, rel: str) -> None:
    """Say in the rejected file's problems list that its corrections workbook exists."""
    if not sub.get("stored_path"):
        return
    listed = ws.root / f"{sub['stored_path']}.problems.txt"
    if not listed.is_file():
        return
    text = listed.read_text(encoding="utf-8")
    line = f"A corrections workbook with these answers filled in and each cell to fix marked: {rel}"
    if line not in text:
        write_atomic(listed, (text.rstrip("\n") + "\n\n" + line + "\n").encode("utf-8"))
