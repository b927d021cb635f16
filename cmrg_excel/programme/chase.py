"""Reminder email drafts for returns still missing or rejected in a round.

For every contract whose return is outstanding or was rejected, :func:`chase_round`
writes a ready-to-send ``.eml`` draft into ``outbox/ROUND/chase-YYYY-MM-DD/`` and one row
of ``mailmerge-chase.csv`` beside them. The letter is ``email-chase.txt`` (a workspace
copy wins over the built-in one): before the deadline it is a reminder (``$subject``,
``$opening``), after it a chaser; ``$status_text`` says whether the return is overdue, or
that it was rejected and what to fix. The deadline is said once.

Attachments: an outstanding return gets its issued workbook again. A rejected return
gets its corrections workbook when one exists: the hook is the file
``outbox/ROUND/corrections/<contract file name>.xlsx`` (see :func:`corrections_path`),
or else a workbook recorded in the ledger as this contract's open issue of kind
``correction``. Without either, the owner is asked to fix and re-send their own file, and
gets the full list of problems that ingest wrote beside the rejected file
(``inbox/rejected/<name>.problems.txt``) when it is there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ..core.contracts import safe_filename
from ..intake.corrections import corrections_path
from .status import OUTSTANDING, REJECTED, ContractStatus, RoundStatus, load_round_status, received_date

MAX_PROBLEMS = 5
CHASE_COLUMNS = ["owner_name", "owner_email", "contract_id", "title", "attachment_path", "deadline",
                 "status", "days_overdue", "status_text", "eml_path"]


@dataclass(frozen=True)
class ChaseDraft:
    contract_id: str
    to: str
    state: str
    overdue: bool
    eml: Path
    attachments: tuple[Path, ...]
    status_text: str


@dataclass(frozen=True)
class ChaseResult:
    round: str
    folder: Path
    drafts: list[ChaseDraft]
    mailmerge: Path | None
    status: RoundStatus


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def status_text(c: ContractStatus, today: dt.date, *, corrections: bool = False, workbook_attached: bool = False,
                problems_attached: bool = False) -> str:
    """The paragraph of the reminder that is particular to this return."""
    if c.state == REJECTED:
        received = received_date(c.received_at)
        sent = f"The return you sent on {received:%d/%m/%Y}" if received else "The return you sent"
        lines = [f"{sent} could not be accepted."]
        if c.problems:
            lines.append("These need fixing:")
            lines += [f"  - {p}" for p in c.problems[:MAX_PROBLEMS]]
            if len(c.problems) > MAX_PROBLEMS:
                more = len(c.problems) - MAX_PROBLEMS
                lines.append(f"  ... and {more} more" + (", all marked in the attached corrections workbook."
                                                         if corrections else "."))
        if corrections:
            lines.append("The attached corrections workbook has your answers filled in, with each cell to fix "
                         "shaded red and a note saying what is wrong. Please fix those and send it back.")
        else:
            lines.append("Please correct your workbook and send it again.")
            if problems_attached:
                lines.append("The attached list gives every problem, with the sheet and cell.")
        if c.overdue:
            lines.append(f"The return is now {_days(c.days_overdue)} overdue.")
        return "\n".join(lines)
    attached = "The workbook is attached again in case you need it." if workbook_attached else ""
    came = _what_came(c)
    if c.overdue:
        return f"{came}Your return is now {_days(c.days_overdue)} overdue. {attached}".strip()
    return f"{came}{attached}".strip()  # the opening says when it is due: once is enough


def subject(c: ContractStatus) -> str:
    """A reminder before the deadline; overdue after it."""
    return (f"{'Overdue' if c.overdue else 'Reminder'}: contract self-assessment for {c.contract_id}, "
            f"due {c.deadline:%d/%m/%Y}")


def opening(c: ContractStatus, today: dt.date, round: str, review_group: str) -> str:
    """The letter's first paragraph: a reminder of the date before the deadline, a chaser after
    it; the deadline said once."""
    which = f"your contract self-assessment for {c.contract_id} ({c.title}), for the {round} round of the " \
            f"{review_group}'s reviews,"
    if c.state == REJECTED:
        due = "" if c.overdue else f" It is due on {c.deadline:%d/%m/%Y}."
        return f"Thank you for {which.rstrip(',')}.{due}"
    if c.overdue:
        return f"We have not yet received {which.rstrip(',')}. It was due on {c.deadline:%d/%m/%Y}."
    left = (c.deadline - today).days
    when = "today" if left == 0 else f"in {_days(left)}"
    return f"This is a reminder that {which} is due {when}, on {c.deadline:%d/%m/%Y}."


def _what_came(c: ContractStatus) -> str:
    """For an outstanding return: a withdrawn return, and files that came under the contract's
    name but could not be used, each said plainly (empty when there were none)."""
    lines = []
    if c.withdrawn:
        sent = received_date(c.withdrawn_received) if c.withdrawn_received else None
        what = f"The return you sent on {sent:%d/%m/%Y}" if sent else "Your return"
        lines.append(f"{what} was withdrawn by the review group: {c.withdrawn_reason or 'see the review group'}. "
                     "Please send a new return.")
    for a in c.arrivals:
        when = received_date(a.received_at)
        got = f"We received {a.name}" + (f" on {when:%d/%m/%Y}" if when else "") + ", named for your contract"
        if a.filed_as:
            lines.append(f"{got}, but it is the workbook issued for contract {a.filed_as}, so it was filed as that "
                         "contract's return, not yours.")
        else:
            lines.append(f"{got}, but it could not be used: {a.reason}.")
    if c.arrivals:
        lines.append("Please fill in the workbook issued for your contract and send it back.")
    return "\n".join(lines) + ("\n" if lines else "")


def _attachments(ws, c: ContractStatus, round: str) -> tuple[list[Path], bool]:
    """(files to attach, whether one is a corrections workbook)."""
    issued = (ws.root / c.issue.file_path) if c.issue.file_path else None
    if c.state == REJECTED:
        hook = corrections_path(ws, round, c.contract_id)
        if hook.is_file():
            return [hook], True
        if c.issue.kind == "correction" and issued is not None and issued.is_file():
            return [issued], True
        listed = ws.root / f"{c.stored_path}.problems.txt" if c.stored_path else None
        return ([listed] if listed is not None and listed.is_file() else []), False
    return ([issued], False) if issued is not None and issued.is_file() else ([], False)


def chase_round(ws, round: str | None = None, *, today: dt.date | None = None, deadline: dt.date | None = None,
                overdue_only: bool = False) -> ChaseResult:
    """Write the reminder drafts and mailmerge-chase.csv for a round (the latest by default)."""
    from ..kit.files import write_atomic
    from ..issue.mail import load_template, make_eml, render
    from ..kit.files import write_csv

    today = today or dt.date.today()
    status = load_round_status(ws, round, today=today, deadline=deadline)
    cfg = ws.config
    folder = ws.outbox / status.round / f"chase-{today.isoformat()}"
    waiting = [c for c in status.contracts if c.state in (OUTSTANDING, REJECTED)]
    wanted = [c for c in waiting if c.overdue or not overdue_only]
    stems: dict[str, str] = {}
    for c in waiting:
        stem = safe_filename(c.contract_id)
        while stem.casefold() in {v.casefold() for v in stems.values()}:
            stem += "_"
        stems[c.contract_id] = stem
    template = load_template("email-chase.txt", ws.root)
    drafts: list[ChaseDraft] = []
    rows = []
    for c in wanted:
        files, corrections = _attachments(ws, c, status.round)
        text = status_text(c, today, corrections=corrections, workbook_attached=bool(files) and c.state == OUTSTANDING,
                           problems_attached=bool(files) and c.state == REJECTED and not corrections)
        letter = render(template, {
            "subject": subject(c), "opening": opening(c, today, status.round, cfg.review_group),
            "owner_name": c.owner_name, "contract_id": c.contract_id, "title": c.title, "round": status.round,
            "deadline": f"{c.deadline:%d/%m/%Y}", "status_text": text, "return_email": cfg.return_email,
            "review_group": cfg.review_group, "council": cfg.council_name,
            "attachment_name": files[0].name if files else "",
        })
        target = folder / f"{stems[c.contract_id]}.eml"
        write_atomic(target, make_eml(cfg.return_email, c.owner_name, c.owner_email, letter, files))
        drafts.append(ChaseDraft(c.contract_id, c.owner_email, c.state, c.overdue, target, tuple(files), text))
        rows.append({
            "owner_name": c.owner_name, "owner_email": c.owner_email, "contract_id": c.contract_id,
            "title": c.title, "attachment_path": str(files[0].resolve()) if files else "", "deadline": c.deadline,
            "status": c.label, "days_overdue": c.days_overdue, "status_text": text, "eml_path": str(target.resolve()),
        })
    mailmerge = write_csv(folder / "mailmerge-chase.csv", CHASE_COLUMNS, rows) if drafts else None
    # A second run on the same day refreshes the first: drop its drafts for returns accepted since.
    if folder.is_dir():
        keep = {f"{stem}.eml" for stem in stems.values()}
        for old in folder.glob("*.eml"):
            if old.name not in keep:
                old.unlink()
        if not waiting:
            (folder / "mailmerge-chase.csv").unlink(missing_ok=True)
    return ChaseResult(status.round, folder, drafts, mailmerge, status)
