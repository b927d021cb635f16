"""Where each contract's return stands in a round: accepted, rejected, outstanding, overdue.

:func:`round_status` works on plain data (the round's issues and the submissions); the
workspace edge :func:`load_round_status` reads them from the register, and
:func:`write_status_workbook` writes ``outbox/status-ROUND.xlsx``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Mapping

from ..register import Issue, RoundError, choose_round
from ..register.details import COLUMNS as DETAIL_COLUMNS, latest_corrections

ACCEPTED = "accepted"
REJECTED = "rejected"
OUTSTANDING = "outstanding"
LABELS = {ACCEPTED: "Accepted", REJECTED: "Rejected, awaiting correction", OUTSTANDING: "Outstanding"}


# A round asked for that was never issued, or none issued yet (the register decides which
# round is current); kept under this name for status, chase and their callers.
StatusError = RoundError


@dataclass(frozen=True)
class Arrival:
    """A file that came in under a contract's name but is not that contract's return."""

    name: str
    received_at: str | None
    reason: str                      # why it could not be used (its first problem), or ""
    filed_as: str | None = None      # the contract whose workbook it turned out to be (accepted for it)

    def sentence(self, contract_id: str) -> str:
        when = received_date(self.received_at)
        came = f"{self.name}" + (f" (received {when:%d/%m/%Y})" if when else "")
        if self.filed_as:
            return (f"{came} is named for {contract_id} but is {self.filed_as}'s workbook, so it was filed as "
                    f"{self.filed_as}'s return")
        return f"{came} came in named for {contract_id} but could not be used: {self.reason}"


@dataclass(frozen=True)
class ContractStatus:
    """One contract's return in one round."""

    contract_id: str
    title: str
    directorate: str
    owner_name: str
    owner_email: str
    issue: Issue                      # the workbook that is open for this contract (latest issued)
    deadline: dt.date
    state: str                        # accepted, rejected, outstanding
    overdue: bool                     # not accepted and the deadline has passed
    days_overdue: int
    received_at: str | None = None    # the accepted return, else the latest rejected one
    submission_id: int | None = None
    problems: tuple[str, ...] = ()    # of the latest rejected return
    rejected_count: int = 0
    stored_path: str | None = None    # where that return is kept, relative to the workspace
    arrivals: tuple[Arrival, ...] = ()  # files named for it that were not its return (while not accepted)
    withdrawn: str | None = None      # its return withdrawn by the secretariat: when, and why
    withdrawn_reason: str | None = None
    withdrawn_received: str | None = None  # when that return had come in
    look: str | None = None           # accepted, but needs a look: why

    @property
    def label(self) -> str:
        if self.overdue:
            base = "Overdue" if self.state == OUTSTANDING else "Rejected, overdue"
        else:
            base = LABELS[self.state]
        if self.state == ACCEPTED and self.look:
            return f"{base}, needs a look"
        if self.state == OUTSTANDING and self.withdrawn:
            return f"{base}, return withdrawn"
        if self.state == OUTSTANDING and self.arrivals:
            return f"{base}, file unusable"
        return base

    @property
    def notes(self) -> tuple[str, ...]:
        """What the secretariat should know beyond the state, one sentence each."""
        out = []
        if self.look:
            out.append(self.look)
        if self.withdrawn:
            out.append(self.withdrawn)
        out += [a.sentence(self.contract_id) for a in self.arrivals]
        return tuple(out)

    @property
    def needs_chasing(self) -> bool:
        return self.state in (OUTSTANDING, REJECTED)


@dataclass(frozen=True)
class RoundStatus:
    round: str
    today: dt.date
    contracts: list[ContractStatus]
    unmatched_rejections: int = 0   # rejected files of this round that name no contract we can place
    deadline_override: dt.date | None = None
    details: tuple = ()             # register.details.DetailCorrection: contract details owners correct

    @property
    def totals(self) -> dict[str, int]:
        rows = self.contracts
        return {
            "issued": len(rows),
            "accepted": sum(r.state == ACCEPTED for r in rows),
            "rejected": sum(r.state == REJECTED for r in rows),
            "outstanding": sum(r.state == OUTSTANDING for r in rows),
            "overdue": sum(r.overdue for r in rows),
        }

    def totals_line(self) -> str:
        t = self.totals
        return (f"Issued {t['issued']} | accepted {t['accepted']} | rejected, awaiting correction {t['rejected']} | "
                f"outstanding {t['outstanding']} | overdue {t['overdue']}")


def problem_text(problem: object) -> str:
    """A stored problem (text, or a dict as check.Problem.as_dict() makes) as one line."""
    if isinstance(problem, Mapping):
        message = str(problem.get("message") or problem.get("text") or problem.get("problem") or "").strip()
        sheet, cell, ref = (str(problem.get(k) or "") for k in ("sheet", "cell", "ref"))
        place = f"{sheet}!{cell}" if sheet and cell else sheet
        if ref:
            place = f"{place} (activity {ref})" if place else f"activity {ref}"
        return f"{place}: {message}" if place and message else (message or place or json.dumps(dict(problem)))
    return str(problem)


def _problems(raw: object) -> tuple[str, ...]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return (raw,) if raw.strip() else ()
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raw = [raw]
    return tuple(problem_text(p) for p in raw)


def _issue_date(issue: Issue) -> dt.date:
    return dt.date.fromisoformat(issue.generated_at[:10])


def round_status(
    round: str,
    issues: Iterable[Issue],
    submissions: Iterable[Mapping[str, object]],
    today: dt.date,
    *,
    deadline: dt.date | None = None,
    default_deadline=None,
    decisions: Iterable[object] = (),
) -> RoundStatus:
    """Each contract of ``round``: its latest issue and what has come back for it.

    A contract is *accepted* once it has a current accepted return; else *rejected* when
    a return came back and was rejected (awaiting a corrected one); else *outstanding*.
    It is *overdue* when not accepted after the deadline: ``deadline`` if given, else the
    one recorded on its issue, else ``default_deadline(issue date)``.

    ``issues`` may hold every round's issues (a file that names no round counts for the round
    that was the latest when it arrived); workbooks withdrawn as issued by mistake do not
    count. ``decisions`` (:class:`cmrg_excel.register.audit.Decision`) say why a return was
    withdrawn, and which returns that needed a look were confirmed.
    """
    every = list(issues)
    by_token_all = {i.token: i for i in every}
    issues = [i for i in every if i.round == round and i.status != "withdrawn"]
    starts: dict[str, str] = {}
    for i in every:
        if i.status != "withdrawn":
            starts[i.round] = min(starts.get(i.round, i.generated_at), i.generated_at)
    began = sorted((when, rnd) for rnd, when in starts.items())
    withdrawals: dict[int, object] = {}
    confirmed: set[int] = set()
    for d in decisions:
        if d.submission_id is None:
            continue
        if d.action == "withdraw-return":
            withdrawals[d.submission_id] = d
        elif d.action == "confirm-return":
            confirmed.add(d.submission_id)
    latest: dict[str, Issue] = {}
    for issue in sorted(issues, key=lambda i: (i.status == "issued", i.generated_at)):
        latest[issue.contract_id] = issue  # an open issue wins over superseded ones
    mine: dict[str, list[Mapping[str, object]]] = {cid: [] for cid in latest}
    arrived: dict[str, list[Arrival]] = {cid: [] for cid in latest}
    unmatched = 0
    for sub in submissions:
        cid, rnd = sub.get("contract_id"), sub.get("round")
        token_issue = by_token_all.get(str(sub.get("token") or ""))
        if token_issue is not None:
            cid, rnd = token_issue.contract_id, token_issue.round
        if rnd is None:  # not a workbook we issued: it counts for the round running when it came in
            rnd = _round_at(str(sub.get("received_at") or ""), began)
        if rnd != round:
            continue
        outcome = sub.get("outcome")
        for other in _json_list(sub.get("named_for")):
            if other in arrived and other != cid:
                reason = "" if outcome == ACCEPTED else (_problems(sub.get("problems")) or ("",))[0]
                arrived[other].append(Arrival(str(sub.get("original_name") or ""), _text(sub.get("received_at")),
                                              _reason(reason), cid if outcome == ACCEPTED else None))
        if outcome == REJECTED and (_misaddressed(sub.get("problems")) or cid not in mine):
            # Someone sent another contract's workbook, or a file that is no contract's: that
            # contract's owner sent nothing, so it must not show as "rejected, awaiting
            # correction" (nor be chased for it).
            unmatched += 1
            continue
        if cid in mine:
            mine[cid].append(sub)

    rows = []
    for cid, issue in sorted(latest.items()):
        snap = issue.contract_snapshot
        due = deadline or (dt.date.fromisoformat(issue.deadline) if issue.deadline else None)
        if due is None:
            due = default_deadline(_issue_date(issue)) if default_deadline else _issue_date(issue)
        subs = sorted(mine[cid], key=lambda s: (str(s.get("received_at") or ""), int(s.get("id") or 0)))
        accepted = [s for s in subs if s.get("outcome") == ACCEPTED and (s.get("status") or "current") == "current"]
        rejected = [s for s in subs if s.get("outcome") == REJECTED]
        withdrawn = [s for s in subs if s.get("outcome") == ACCEPTED and s.get("status") == "withdrawn"]
        if withdrawn:  # a rejection older than the withdrawn return is no longer what is awaited
            rejected_now = [s for s in rejected if subs.index(s) > subs.index(withdrawn[-1])]
        else:
            rejected_now = rejected
        look = gone = why = came = None
        if accepted:
            state, sub, problems = ACCEPTED, accepted[-1], ()
            look = _look(sub, cid, confirmed)
        elif rejected_now:
            state, sub = REJECTED, rejected_now[-1]
            problems = _problems(sub.get("problems"))
        else:
            state, sub, problems = OUTSTANDING, None, ()
        if not accepted and withdrawn:
            decision = withdrawals.get(int(withdrawn[-1].get("id") or 0))
            gone = _withdrawn(withdrawn[-1], decision)
            why = decision.reason if decision is not None else None
            came = _text(withdrawn[-1].get("received_at"))
        late = max(0, (today - due).days) if state != ACCEPTED else 0
        rows.append(ContractStatus(
            contract_id=cid, title=str(snap.get("title", "")), directorate=str(snap.get("directorate", "")),
            owner_name=str(snap.get("owner_name", "")), owner_email=str(snap.get("owner_email", "")),
            issue=issue, deadline=due, state=state, overdue=late > 0, days_overdue=late,
            received_at=str(sub["received_at"]) if sub is not None and sub.get("received_at") else None,
            submission_id=int(sub["id"]) if sub is not None and sub.get("id") is not None else None,
            problems=problems, rejected_count=len(rejected),
            stored_path=str(sub["stored_path"]) if sub is not None and sub.get("stored_path") else None,
            arrivals=tuple(arrived[cid]) if state != ACCEPTED else (), withdrawn=gone, withdrawn_reason=why,
            withdrawn_received=came, look=look,
        ))
    return RoundStatus(round, today, rows, unmatched, deadline)


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _json_list(raw: object) -> list[str]:
    if isinstance(raw, list):
        return [str(x) for x in raw]
    if not isinstance(raw, str) or not raw.strip():
        return []
    try:
        items = json.loads(raw)
    except ValueError:
        return []
    return [str(x) for x in items] if isinstance(items, list) else []


def _reason(problem: str) -> str:
    """A stored problem as the reason a file could not be used: its first sentence, briefly."""
    text = problem.split(": ", 1)[1] if problem.startswith(("Assessment!", "Contract!", "Attestation!")) else problem
    first = text.split(". ")[0].rstrip(".")
    return (first[:157] + "...") if len(first) > 160 else (first or "it could not be read as a workbook we issued")


def _round_at(received_at: str, began: list[tuple[str, str]]) -> str | None:
    """The round that was the latest to have started when a file was received."""
    current = None
    for when, rnd in began:
        if when <= received_at or current is None:
            current = rnd
    return current


def _look(sub: Mapping[str, object], contract_id: str, confirmed: set[int]) -> str | None:
    """Why an accepted return needs a look (a file named for another contract), unless confirmed."""
    if int(sub.get("id") or 0) in confirmed:
        return None
    named = _json_list(sub.get("named_for"))
    codes = {p.get("code") for p in _json_dicts(sub.get("problems"))}
    if "name-mismatch" not in codes and not named:
        return None
    others = ", ".join(named) or "another contract"
    return (f"the file {sub.get('original_name')} is named for {others}: check it holds {contract_id}'s answers, "
            f"then 'cmrg decide confirm {contract_id}' (or 'cmrg decide withdraw {contract_id}')")


def _withdrawn(sub: Mapping[str, object], decision) -> str:
    when = received_date(_text(sub.get("received_at")))
    what = f"the return received {when:%d/%m/%Y}" if when else "the return"
    if decision is None:
        return f"{what} ({sub.get('original_name')}) was withdrawn by the review group"
    on = received_date(decision.made_at)
    return (f"{what} ({sub.get('original_name')}) was withdrawn by the review group"
            + (f" on {on:%d/%m/%Y}" if on else "") + f" ({decision.os_user}): {decision.reason}")


def _json_dicts(raw: object) -> list[dict]:
    try:
        items = json.loads(raw) if isinstance(raw, str) else (raw or [])
    except ValueError:
        return []
    return [p for p in items if isinstance(p, dict)] if isinstance(items, list) else []


def _misaddressed(problems: object) -> bool:
    """True when a rejection says the file is another contract's workbook."""
    import json

    try:
        items = json.loads(problems) if isinstance(problems, str) else (problems or [])
    except ValueError:
        return False
    return any(isinstance(p, dict) and p.get("code") == "wrong-contract" for p in items)


# --- the workspace edge ----------------------------------------------------------------
def load_round_status(ws, round: str | None = None, *, today: dt.date | None = None,
                      deadline: dt.date | None = None) -> RoundStatus:
    """A round's status from the workspace's register (the latest round by default). Reads only:
    another program writing to the register never makes it wait."""
    from .. import register as reg
    from ..register import audit

    if not ws.register_path.exists():
        choose_round([], round)
    conn = reg.open_register(ws, readonly=True)
    try:
        round = choose_round(reg.rounds(conn), round, audit.withdrawn_rounds(conn))
        issues = reg.list_issues(conn)
        subs = reg.submissions_frame(conn)
        decided = audit.decisions(conn, round=round)
    finally:
        conn.close()
    records = subs.to_dict("records") if not subs.empty else []
    for r in records:  # pandas gives NaN for SQL NULL in mixed columns
        for k, v in r.items():
            if isinstance(v, float) and v != v:
                r[k] = None
    status = round_status(round, issues, records, today or dt.date.today(), deadline=deadline,
                          default_deadline=ws.config.deadline_from, decisions=decided)
    return replace(status, details=tuple(latest_corrections(records, issues, round)))


def received_date(text: str | None) -> dt.date | None:
    """The date of a stored received_at (UTC ISO), or None."""
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(str(text)).date()
    except ValueError:
        return None


# Printed: Contract ID to Notes, across A4 landscape at 74% or more; the owner's name and email
# follow (for filtering and mail merge on screen; mailmerge.csv has them too).
NOTES = "Notes (needs a look, withdrawn, files that could not be used)"
STATUS_COLUMNS = [("Contract ID", 9), ("Contract", 24), ("Directorate", 20), ("Deadline", 11), ("Status", 16),
                  ("Days overdue", 8), ("Received", 11), ("Rejected returns", 8),
                  ("Problems to fix (latest rejected return)", 34), (NOTES, 28), ("Owner", 18), ("Owner email", 36)]
PRINTED_COLUMNS = 10  # up to Notes; the owner's name and email follow, for mail merge on screen


def write_status_workbook(status: RoundStatus, path: Path, council: str = "") -> Path:
    """``status-ROUND.xlsx``: the totals and one row per contract, as an Excel Table."""
    from ..kit.files import write_atomic
    from ..kit.styles import Styles, new_workbook, print_setup, row_height

    wb, buffer = new_workbook()
    st = Styles(wb)
    centred = wb.add_format({"font_name": "Calibri", "font_size": 11, "valign": "top", "align": "center",
                             "border": 1, "border_color": "#BFBFBF"})
    wb.set_properties({"title": f"Return status, round {status.round}", "company": council})
    sh = wb.add_worksheet("Status")
    footer = f"Status of round {status.round} on {status.today:%d/%m/%Y}" + (f" | {council}" if council else "")
    headers = [h for h, _ in STATUS_COLUMNS]
    widths = [w for _, w in STATUS_COLUMNS]
    col = {h: i for i, h in enumerate(headers)}
    last_printed = PRINTED_COLUMNS - 1
    for i, w in enumerate(widths):
        sh.set_column(i, i, w)
    sh.set_row(0, 28)
    sh.write_string(0, 0, f"Returns for round {status.round}", st.title)
    sh.write_string(1, 0, f"As at {status.today:%d/%m/%Y}"
                    + (f"; deadline {status.deadline_override:%d/%m/%Y} for all" if status.deadline_override else
                       "; deadlines as issued"), st.subtitle)
    t = status.totals
    figures = [("Issued", t["issued"]), ("Accepted", t["accepted"]), ("Rejected, awaiting correction", t["rejected"]),
               ("Outstanding", t["outstanding"]), ("Overdue", t["overdue"])]
    sh.set_row(3, 30)  # the big figures: their row is tall enough that they do not touch their labels
    sh.set_row(4, 30)
    for i, (label, n) in enumerate(figures):
        sh.write_number(3, i * 2, n, st.big_number)
        sh.merge_range(4, i * 2, 4, i * 2 + 1, label, st.big_label)
    r0 = 6
    if status.unmatched_rejections:
        note = (f"{status.unmatched_rejections} rejected file(s) of this round count for no contract (another "
                "contract's workbook, or not one we issued); see inbox/rejected/.")
        sh.merge_range(5, 0, 5, last_printed, note, st.note)
        sh.set_row(5, row_height((note, sum(widths[:PRINTED_COLUMNS]))))
        r0 = 7
    n = len(status.contracts)
    sh.set_row(r0, 30)
    sh.add_table(r0, 0, r0 + max(n, 1), len(headers) - 1, {
        "name": "Status", "style": "Table Style Light 9",
        "columns": [{"header": h, "header_format": st.header} for h in headers],
    })
    for r, c in enumerate(status.contracts, start=r0 + 1):
        received = received_date(c.received_at)
        sh.write_string(r, col["Contract ID"], c.contract_id, st.cell)
        sh.write_string(r, col["Contract"], c.title, st.cell)
        sh.write_string(r, col["Directorate"], c.directorate, st.cell)
        sh.write_string(r, col["Owner"], c.owner_name, st.cell)
        sh.write_string(r, col["Owner email"], c.owner_email, st.cell)
        sh.write_datetime(r, col["Deadline"], dt.datetime.combine(c.deadline, dt.time()), st.cell_date)
        sh.write_string(r, col["Status"], c.label, st.cell)
        # centred, so a 0 does not run into the received date beside it
        sh.write_number(r, col["Days overdue"], c.days_overdue, centred)
        if received:
            sh.write_datetime(r, col["Received"], dt.datetime.combine(received, dt.time()), st.cell_date)
        else:
            sh.write_blank(r, col["Received"], None, st.cell)
        sh.write_number(r, col["Rejected returns"], c.rejected_count, centred)
        problems = "\n".join(c.problems[:5]) + (f"\n... and {len(c.problems) - 5} more" if len(c.problems) > 5 else "")
        sh.write_string(r, col["Problems to fix (latest rejected return)"], problems, st.cell)
        notes = "\n".join(f"{n[0].upper()}{n[1:]}." for n in c.notes)
        sh.write_string(r, col[NOTES], notes, st.cell)
        sh.set_row(r, row_height(*[(text, widths[col[h]]) for text, h in (
            (c.title, "Contract"), (c.directorate, "Directorate"), (c.label, "Status"),
            (problems, "Problems to fix (latest rejected return)"), (notes, NOTES))]))
    if n:
        rng = (r0 + 1, col["Status"], r0 + n, col["Status"])
        sh.conditional_format(*rng, {"type": "text", "criteria": "begins with", "value": "Accepted", "format": st.cf_good})
        sh.conditional_format(*rng, {"type": "text", "criteria": "containing", "value": "verdue", "format": st.cf_bad})
        sh.conditional_format(*rng, {"type": "text", "criteria": "begins with", "value": "Rejected", "format": st.cf_blank})
    sh.freeze_panes(r0 + 1, 1)
    sh.print_area(0, 0, r0 + max(n, 1), last_printed)
    print_setup(sh, landscape=True, repeat_to_row=r0, left_footer=footer, header=council, last_col=last_printed)
    if status.details:
        _details_sheet(wb, st, status, footer, council)
    wb.close()
    write_atomic(path, buffer.getvalue())
    return path


def _details_sheet(wb, st, status: RoundStatus, footer: str, council: str) -> None:
    """The contract details owners say are wrong, to put right on the contract list."""
    from ..kit.styles import print_setup

    sh = wb.add_worksheet("Details to correct")
    widths = [13, 8, 24, 36, 36, 9, 10, 16]
    for i, w in enumerate(widths):
        sh.set_column(i, i, w)
    sh.write_string(0, 0, "Contract details the owners correct: put them right on the contract list", st.title)
    n = len(status.details)
    sh.add_table(2, 0, 2 + n, len(DETAIL_COLUMNS) - 1, {
        "name": "DetailsToCorrect", "style": "Table Style Light 9",
        "columns": [{"header": h, "header_format": st.header} for h in DETAIL_COLUMNS],
    })
    for r, d in enumerate(status.details, start=3):
        for c, value in enumerate(d.row()):
            if isinstance(value, dt.datetime):
                sh.write_datetime(r, c, value.replace(tzinfo=None), st.cell_date)
            elif isinstance(value, int):
                sh.write_number(r, c, value, st.cell)
            else:
                sh.write_string(r, c, "" if value is None else str(value), st.cell)
    sh.freeze_panes(3, 1)
    print_setup(sh, landscape=True, repeat_to_row=2, left_footer=footer, header=council)


def status_path(ws, round: str) -> Path:
    from ..core.contracts import safe_filename

    return ws.outbox / f"status-{safe_filename(round)}.xlsx"
