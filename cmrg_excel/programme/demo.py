"""A whole review programme on built-in, fictional sample data, for trying the tool out.

:func:`run_demo` runs two rounds end to end in a new folder: generate, simulated returns
(some with the usual mistakes), ingest, corrections workbooks, the fixed returns, status
and reminders, then a re-review round pre-filled from the first, and the summary. It is
seeded, so every run tells the same story (only dates and times differ).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable

from ..core.contracts import read_contracts
from ..core.framework import BUILTIN_PACKAGE
from ..issue.generate import GenerateResult, generate_round
from ..kit.contract_list import write_contract_list
from ..core.terminal import clip, table
from ..core.workspace import Workspace, open_workspace
from .init import init_workspace

FIRST_ROUND = "2026-27"
SECOND_ROUND = "2027-28"
SAMPLE = "sample-contracts.csv"
SEED = 2026


def sample_contracts():
    """The 28 fictional contracts that ship with the tool."""
    with resources.as_file(resources.files(BUILTIN_PACKAGE).joinpath(SAMPLE)) as path:
        return read_contracts(path).contracts


def default_folder(base: Path | None = None) -> Path:
    """A new, timestamped folder under ``base`` (the current folder by default)."""
    base = base or Path.cwd()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = base / f"cmrg-demo-{stamp}"
    n = 1
    while folder.exists():
        n += 1
        folder = base / f"cmrg-demo-{stamp}-{n}"
    return folder


@dataclass
class DemoResult:
    workspace: Workspace
    generated: list[GenerateResult] = field(default_factory=list)
    ingests: list = field(default_factory=list)
    corrections: list = field(default_factory=list)
    summary: Path | None = None
    report: Path | None = None


def setup(folder: Path) -> Workspace:
    """A workspace for the fictional 'Example Council' holding the sample contract list."""
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty; give a new folder for the demo")
    ws, _ = init_workspace(folder, council="Example Council", return_email="cmrg@example-council.gov.uk",
                           password="demo")
    write_contract_list(ws.contracts_path, sample_contracts())
    return open_workspace(ws.root)


def run_demo(folder: Path, say: Callable[[str], None] = print, today: dt.date | None = None) -> DemoResult:
    """Two review rounds on the sample contracts in ``folder`` (new or empty), told through ``say``."""
    from .chase import chase_round
    from .decide import withdraw_return
    from ..intake.ingest import ingest
    from .simulate import fix_corrections, simulate_re_reviews, simulate_returns
    from .status import load_round_status, status_path, write_status_workbook
    from ..report.summary import SummarySettings, build_summary, load_summary_data
    from ..report.committee import write_report

    today = today or dt.date.today()
    ws = setup(folder)
    out = DemoResult(ws)

    rel = ws.rel

    def outcomes(res) -> str:
        return (f"{res.count('accepted')} accepted, {res.count('rejected')} rejected"
                + (f", {res.count('duplicate')} duplicate" if res.count("duplicate") else ""))

    say(f"Demo workspace: {ws.root}")
    say(f"   contract list: {rel(ws.contracts_path)} (28 fictional contracts, five directorates)")

    r1 = FIRST_ROUND
    gen = generate_round(ws, r1, eml=True, today=today)
    out.generated.append(gen)
    say(f"\n 1. cmrg generate --round {r1} --eml: {len(gen.files)} locked workbooks, email drafts and "
        f"mailmerge.csv in {rel(gen.folder)}/")

    sent = simulate_returns(ws, r1, rng_seed=SEED, today=today)
    say(f" 2. Owners return {len(sent)} workbooks into inbox/ (three with typical mistakes: a pasted rating, "
        "a missing sign-off, and one owner filling in another contract's workbook and sending it under their own "
        "contract's name).")

    def ingest_step(step: str):
        # The demo wrote and closed every file itself: nothing is still being saved, so no settling wait.
        res = ingest(ws, corrections=True, settle_seconds=0)
        out.ingests.append(res)
        out.corrections += res.corrections
        say(f"{step} cmrg ingest: {outcomes(res)}. Report: {rel(res.report)}")
        rows = sorted([f.contract_id or "?", "accepted, needs a look" if f.needs_a_look else f.outcome,
                       clip(f.first_reason, 88)] for f in res.files if f.outcome == "rejected" or f.needs_a_look)
        if rows:
            say(table(rows, ["Contract", "Outcome", "First reason"], indent="     "))
        return res

    first = ingest_step(" 3.")
    for f in [f for f in first.files if f.needs_a_look]:
        others = ", ".join(f.named_for)
        reason = f"the answers in it are {others}'s"
        withdraw_return(ws, f.contract_id, reason, round=r1)
        say(f"     {f.name} is {f.contract_id}'s workbook, so it was filed as {f.contract_id}'s return, but its name "
            f"says {others}. The review group looks: {reason}, so: cmrg decide withdraw {f.contract_id} --reason "
            f"\"{reason}\". Both contracts are outstanding again, and the decision is kept in the register.")

    if first.corrections:
        say(f" 4. Corrections workbooks (made by ingest for each rejected return of a contract's own workbook) in "
            f"{rel(ws.outbox / r1)}/corrections/:")
        for c in sorted(first.corrections, key=lambda c: c.contract_id):  # worker order varies: keep it stable
            say(f"     {c.contract_id:<9} {len(c.fixes)} fix(es): {clip(c.fixes[0], 80)}")
        say("     Each has the owner's answers filled in, the cells to fix shaded red with a note, a 'Fixes needed' "
            "sheet first.")

    back = fix_corrections(ws, r1, rng_seed=SEED, today=today)
    second = ingest(ws, corrections=True, settle_seconds=0)
    out.ingests.append(second)
    linked = sum(1 for f in second.accepted if _corrects(ws, f.submission_id))
    say(f" 5. Owners fix and return {len(back)} corrections workbooks; cmrg ingest: {outcomes(second)}, "
        f"{linked} linked to the return they correct.")

    status = load_round_status(ws, r1, today=today)
    spath = write_status_workbook(status, status_path(ws, r1), ws.config.council_name)
    chased = chase_round(ws, r1, today=today)
    say(f" 6. cmrg status --round {r1}: {status.totals_line()}")
    say(f"     Status workbook: {rel(spath)}; reminder drafts (cmrg chase): {len(chased.drafts)} in "
        f"{rel(chased.folder)}/")

    r2 = SECOND_ROUND
    gen2 = generate_round(ws, r2, eml=True, prefill_from=r1, today=today)
    out.generated.append(gen2)
    carried = sum(1 for f in gen2.files if _prefilled(ws, f.token))
    say(f"\n 7. cmrg generate --round {r2} --prefill-from {r1}: {len(gen2.files)} workbooks in {rel(gen2.folder)}/, "
        f"{carried} pre-filled with last year's answers (green, 'Still accurate?' to confirm)")

    files, counts = simulate_re_reviews(ws, r2, rng_seed=SEED, today=today)
    say(f" 8. Owners return {len(files)} re-review workbooks: {counts['re-confirmed']} answers re-confirmed, "
        f"{counts['changed']} changed, {counts['new']} answered afresh (one rating raised two levels with no new "
        "evidence).")
    third = ingest_step(" 9.")
    if third.corrections:
        say(f"     Corrections workbook: {', '.join(rel(c.path) for c in third.corrections)}")

    settings = SummarySettings.from_section(ws.config.section("summary"))
    result = build_summary(load_summary_data(ws, r2, today=today), settings, ws.outbox / f"summary-{r2}.xlsx")
    out.summary = result.path
    say(f"\n10. cmrg summary --round {r2}: {result.contracts_reviewed} contracts reviewed, "
        f"{result.progress_contracts} compared with {r1} (sheet Progress: change by area, changed vs "
        "re-confirmed answers).")
    start = today - dt.timedelta(days=182)
    log = ws.root / "benefits.xlsx"
    _demo_benefits(log, today, ws.config.council_name)
    paper = ws.outbox / f"committee-report-{start:%Y-%m-%d}-to-{today:%Y-%m-%d}.docx"
    doc, _ = write_report(ws, start, today, paper, today=today)
    out.report = paper
    say(f"11. cmrg report --from {start:%d/%m/%Y} --to {today:%d/%m/%Y}: the committee paper drafted from the "
        f"register ({rel(paper)}), with two benefits from {rel(log)}.")
    say(f"\nSummary workbook: {result.path}")
    say(f"Committee paper:  {paper}")
    say(f"Try it yourself: cd {ws.root} and run 'cmrg status', 'cmrg chase' or 'cmrg --help'.")
    return out


def _demo_benefits(path: Path, today: dt.date, council: str) -> None:
    """Two fictional benefits in the demo's benefits log, as a secretariat would add them."""
    from ..kit.benefits_list import write_benefits_log

    day = (today - dt.timedelta(days=14)).strftime("%d/%m/%Y")
    write_benefits_log(path, council, rows=[
        ("PH-001", day, "Prescribing costs cut after the review's challenge on the pricing schedule", "£1.1m",
         "Cashable", "depending on prescribing patterns"),
        ("GET-003", day, "Overpayments recovered after the review found invoices paid twice", "£85k", "One-off", ""),
    ])


def _corrects(ws, submission_id: int | None) -> bool:
    from .. import register as reg

    conn = reg.open_register(ws)
    try:
        row = conn.execute("SELECT corrects FROM submissions WHERE id=?", (submission_id,)).fetchone()
        return bool(row and row[0])
    finally:
        conn.close()


def _prefilled(ws, token: str) -> bool:
    from .. import register as reg

    conn = reg.open_register(ws)
    try:
        issue = reg.get_issue(conn, token)
        return bool(issue and issue.prefill)
    finally:
        conn.close()
