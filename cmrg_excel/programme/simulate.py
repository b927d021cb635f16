"""Filling issued workbooks as contract owners would (openpyxl), for practice, tests and the demo.

:func:`fill_return` takes an issued template and plain data and returns the bytes of the
filled workbook. :func:`simulate_returns` drops a realistic mix of returns for a round into
the workspace's ``inbox/``: most complete, with varied ratings per area, and a few with the
mistakes owners make (a pasted rating that is not on the list, a missing attestation,
another contract's workbook renamed).
"""

from __future__ import annotations

import datetime as dt
import io
import random
from pathlib import Path

from ..kit import layout as L
from .. import register as reg
from ..core.contracts import safe_filename


def _set(cell, value) -> None:
    if isinstance(value, dt.datetime):
        cell.value = value
        cell.number_format = "dd/mm/yyyy"
    elif isinstance(value, dt.date):
        cell.value = dt.datetime.combine(value, dt.time())
        cell.number_format = "dd/mm/yyyy"
    else:
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"  # people's text is text, even when it starts with '='


def fill_return(template: bytes | str | Path, answers: dict[str, dict], attestation: dict | None = None,
                corrections: dict | None = None, cells: dict[tuple[str, str], object] | None = None) -> bytes:
    """The workbook ``template`` filled in.

    ``answers``: ref -> {rating, evidence, action, action_owner, target_date, confirm}
    (any subset); ``attestation``: {name, role, date, confirm}; ``corrections``: contract
    field key -> corrected value; ``cells``: (sheet, A1 cell) -> value, written last (for
    tests that need a value anywhere). Rows are found by the Ref in column A.
    """
    import openpyxl

    data = template if isinstance(template, bytes) else Path(template).read_bytes()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    sh = wb[L.ASSESSMENT]
    ref_col = L.col_index(L.ASSESS_BY_KEY["ref"].letter) + 1
    rows = {}
    for r in range(L.ASSESS_FIRST_ROW, sh.max_row + 1):
        v = sh.cell(r, ref_col).value
        if isinstance(v, str) and v:
            rows[v] = r
    for ref, values in answers.items():
        r = rows[ref]
        for key, value in values.items():
            _set(sh[f"{L.ASSESS_BY_KEY[key].letter}{r}"], value)
    if attestation:
        at = wb[L.ATTESTATION]
        for key, value in attestation.items():
            _set(at[L.ATTEST_BY_KEY[key].cell], value)
    if corrections:
        ct = wb[L.CONTRACT]
        for key, value in corrections.items():
            _set(ct[L.contract_cell(key, L.CONTRACT_CORRECTION_COL)], value)
    for (sheet, a1), value in (cells or {}).items():
        _set(wb[sheet][a1], value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- realistic answers --------------------------------------------------------------------

EVIDENCE = [
    "Contract management plan v3, held on the contracts SharePoint site",
    "Monthly performance reports to the directorate management team",
    "Risk register entry CR-12, reviewed quarterly",
    "Minutes of the quarterly contract review meetings",
    "KPI scorecard in the supplier portal",
    "Business case and budget line for contract management",
    "Handover notes from procurement, stored with the contract file",
    "Exit plan agreed with the supplier, appendix C of the contract",
    "Open-book accounting review, finance team",
    "Change control log kept by the contract manager",
]
ACTIONS = [
    "Write a contract management plan and agree it with the supplier",
    "Add the contract to the directorate risk register",
    "Set up quarterly performance reviews with the supplier",
    "Agree an exit plan before the extension decision",
    "Train the contract manager in commercial skills",
]
ROLES = ["Contract manager", "Head of service", "Commissioning manager", "Service director"]


def realistic_answers(fw, rng: random.Random, issued_on: dt.date) -> dict[str, dict]:
    """Complete answers with ratings that vary by area around a contract's own level."""
    levels = [lv.label for lv in fw.scale.levels]
    base = rng.uniform(0.8, 3.2)
    out: dict[str, dict] = {}
    for area in fw.areas:
        area_level = base + rng.uniform(-1.0, 1.0)
        for act in area.activities:
            if rng.random() < 0.03:
                out[act.ref] = {"rating": fw.scale.not_applicable,
                                "evidence": "Not relevant: the contract has no subcontractors or assets"}
                continue
            score = min(len(levels) - 1, max(0, round(area_level + rng.gauss(0, 0.7))))
            ans = {"rating": levels[score]}
            if score > 0 or rng.random() < 0.3:
                ans["evidence"] = rng.choice(EVIDENCE)
            if score <= 1 and rng.random() < 0.6:
                ans["action"] = rng.choice(ACTIONS)
                ans["action_owner"] = rng.choice(["Contract manager", "Head of service", "J. Smith"])
                ans["target_date"] = issued_on + dt.timedelta(days=rng.randint(60, 400))
            out[act.ref] = ans
    return out


PRACTICE_ROLE = "Practice return made by cmrg simulate"
PRACTICE_PREFIX = "PRACTICE "


def realistic_attestation(snapshot: dict, rng: random.Random, signed: dt.date, practice: bool = False) -> dict:
    role = rng.choice(ROLES)
    return {"name": snapshot.get("owner_name") or "A. Owner", "role": PRACTICE_ROLE if practice else role,
            "date": signed, "confirm": L.ATTEST_YES}


def _practice_name(name: str, practice: bool) -> str:
    """A practice return's file name says so: 'PRACTICE GET-001.xlsx'."""
    return PRACTICE_PREFIX + name if practice else name


def simulate_returns(ws, round: str, rng_seed: int = 0, today: dt.date | None = None,
                     mistakes: bool = True, practice: bool = False) -> list[Path]:
    """Fill every open workbook of ``round`` and drop the returns into ``inbox/``.

    With ``mistakes`` (and at least four workbooks), three returns carry typical mistakes:
    a pasted rating that is not on the list, a missing attestation (no date, no Yes), and one
    contract's workbook sent under another contract's file name (that contract's own return
    is then missing). With ``practice``, each file is named 'PRACTICE <contract>.xlsx' and
    signed off in the role "Practice return made by cmrg simulate", so the register shows
    it for what it is. Returns the files written.
    """
    rng = random.Random(rng_seed)
    today = today or dt.date.today()
    issues = waiting_issues(ws, round)
    fws = _frameworks(ws, issues)
    ws.inbox.mkdir(parents=True, exist_ok=True)
    issues = sorted(issues, key=lambda i: i.contract_id)
    bad_rating = wrong_template = no_attest = None
    if mistakes and len(issues) >= 4:
        picks = rng.sample(range(len(issues)), 3)
        bad_rating, no_attest, wrong_template = picks
    written: list[Path] = []
    for n, issue in enumerate(issues):
        fw = fws[issue.framework_hash]
        issued_on = dt.date.fromisoformat(issue.generated_at[:10])
        signed = max(issued_on, min(today, issued_on + dt.timedelta(days=rng.randint(1, 20))))
        answers = realistic_answers(fw, rng, issued_on)
        attestation = realistic_attestation(issue.contract_snapshot, rng, signed, practice)
        if n == bad_rating:
            ref = rng.choice(list(answers))
            answers[ref] = dict(answers[ref], rating="Good-ish")
        if n == no_attest:
            attestation = {"name": attestation["name"], "role": attestation["role"]}
        template = ws.root / issue.file_path
        data = fill_return(template, answers, attestation)
        name = _practice_name(f"{safe_filename(issue.contract_id)}.xlsx", practice)
        if n == wrong_template:
            other = issues[(n + 1) % len(issues)]
            name = _practice_name(f"{safe_filename(other.contract_id)}.xlsx", practice)
            target = ws.inbox / "misfiled" / name
        else:
            target = ws.inbox / name
        if n != wrong_template and wrong_template is not None and issues[(wrong_template + 1) % len(issues)] is issue:
            continue  # this owner sent the wrong workbook instead of their own
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return written


# --- owners fixing corrections workbooks, and re-review returns ------------------------------

FIX_EVIDENCE = "Updated contract management plan, approved by the head of service"


def _fixes_for(problems: list[dict], fw, rng: random.Random, issued_on: dt.date) -> dict[str, dict]:
    """Answers that put right the cell problems of a rejected return (what a careful owner does)."""
    labels = [lv.label for lv in fw.scale.levels]
    out: dict[str, dict] = {}
    for p in problems:
        ref, code = p.get("ref") or "", p.get("code") or ""
        if not ref:
            continue
        fix = out.setdefault(ref, {})
        if code in ("bad-rating", "missing-rating"):
            fix["rating"] = rng.choice(labels[1:4])
        elif code in ("na-needs-reason", "jump-without-evidence"):
            fix["evidence"] = FIX_EVIDENCE
        elif code in ("missing-action", "missing-owner", "missing-target-date", "bad-date"):
            fix.update(action=rng.choice(ACTIONS), action_owner="Contract manager",
                       target_date=issued_on + dt.timedelta(days=180))
        elif code in ("unconfirmed", "bad-confirm"):
            fix["confirm"] = L.CONFIRM_YES
    return {r: f for r, f in out.items() if f}


def fix_corrections(ws, round: str, rng_seed: int = 0, today: dt.date | None = None) -> list[Path]:
    """Fill every open corrections workbook of ``round`` as its owner would: fix each marked
    cell, sign again, and drop it into ``inbox/``. Returns the files written."""
    import json

    rng = random.Random(rng_seed)
    today = today or dt.date.today()
    conn = reg.open_register(ws)
    try:
        issues = [i for i in reg.list_issues(conn, round, open_only=True) if i.kind == "correction"]
        problems = {}
        for i in issues:
            row = conn.execute("SELECT problems FROM submissions WHERE id=?", (i.reissue_of,)).fetchone()
            problems[i.token] = json.loads(row[0]) if row else []
        fws = {h: reg.load_framework(conn, h) for h in {i.framework_hash for i in issues}}
    finally:
        conn.close()
    written = []
    for issue in sorted(issues, key=lambda i: i.contract_id):
        fixes = _fixes_for(problems[issue.token], fws[issue.framework_hash], rng, today)
        attestation = realistic_attestation(issue.contract_snapshot, rng, today)
        data = fill_return(ws.root / issue.file_path, fixes, attestation)
        target = ws.inbox / f"{safe_filename(issue.contract_id)} corrected.xlsx"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return written


def simulate_re_reviews(ws, round: str, rng_seed: int = 0, today: dt.date | None = None, change_share: float = 0.15,
                        mistakes: bool = True, practice: bool = False) -> tuple[list[Path], dict[str, int]]:
    """Fill every open workbook of a re-review ``round``: most carried-forward answers
    confirmed with Yes, about ``change_share`` changed (a level up or down, with new
    evidence). With ``mistakes``, one return raises a rating by two levels without new
    evidence. Workbooks with nothing carried forward are filled afresh. Returns the files
    and the count of answers {"changed", "re-confirmed", "new"} written."""
    rng = random.Random(rng_seed)
    today = today or dt.date.today()
    issues = sorted(waiting_issues(ws, round), key=lambda i: i.contract_id)
    fws = _frameworks(ws, issues)
    counts = {"changed": 0, "re-confirmed": 0, "new": 0}
    carried_issues = [n for n, i in enumerate(issues) if i.prefill]
    jumper = rng.choice(carried_issues) if mistakes and carried_issues else None
    written = []
    for n, issue in enumerate(issues):
        fw = fws[issue.framework_hash]
        issued_on = dt.date.fromisoformat(issue.generated_at[:10])
        signed = max(issued_on, today)
        if not issue.prefill:
            answers = realistic_answers(fw, rng, issued_on)
            counts["new"] += len(answers)
        else:
            answers = {}
            labels = [lv.label for lv in fw.scale.levels]
            jumped = False
            for ref, before in issue.prefill.items():
                label = before.get("rating")
                idx = labels.index(label) if label in labels else None
                if n == jumper and not jumped and idx is not None and idx + 2 < len(labels):
                    answers[ref] = {"rating": labels[idx + 2]}  # the mistake: no new evidence
                    jumped = True
                elif idx is not None and rng.random() < change_share:
                    step = rng.choice([-1, 1]) if 0 < idx < len(labels) - 1 else (1 if idx == 0 else -1)
                    answers[ref] = {"rating": labels[idx + step], "evidence": rng.choice(EVIDENCE) + f" ({round})"}
                    counts["changed"] += 1
                else:
                    answers[ref] = {"confirm": L.CONFIRM_YES}
                    counts["re-confirmed"] += 1
        data = fill_return(ws.root / issue.file_path, answers,
                           realistic_attestation(issue.contract_snapshot, rng, signed, practice))
        target = ws.inbox / _practice_name(f"{safe_filename(issue.contract_id)}.xlsx", practice)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return written, counts


def waiting_issues(ws, round: str) -> list:
    """The workbooks of ``round`` still waiting for a return: issued, not replaced, and their
    contract has no accepted return in the round (so a second run fills nothing twice). A round
    never issued, or withdrawn, stops with :class:`~cmrg_excel.register.RoundError`."""
    conn = reg.open_register(ws)
    try:
        reg.check_round(conn, round)
        answered = {cid for cid, rnd in reg.current_submissions(conn) if rnd == round}
        return [i for i in reg.list_issues(conn, round, open_only=True) if i.contract_id not in answered]
    finally:
        conn.close()


def _frameworks(ws, issues) -> dict:
    conn = reg.open_register(ws)
    try:
        return {h: reg.load_framework(conn, h) for h in {i.framework_hash for i in issues}}
    finally:
        conn.close()


def is_re_review(ws, round: str) -> bool:
    """Whether the workbooks of ``round`` waiting for a return carry answers forward (a re-review)."""
    return any(i.prefill for i in waiting_issues(ws, round))


def open_workbooks(ws, round: str) -> int:
    """How many workbooks of ``round`` are waiting for a return."""
    return len(waiting_issues(ws, round))
