"""What the summary shows, as plain data, and how it is read from a workspace's register."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from ... import register as reg
from ...core.framework import Scale
from .settings import SummaryError


@dataclass
class SummaryData:
    """Everything the summary shows, as plain data (no register, no workspace)."""

    answers: pd.DataFrame            # register.ANSWER_COLUMNS, the chosen round, current accepted returns
    all_answers: pd.DataFrame        # the same for every round (for Progress)
    issues: pd.DataFrame             # register.issues_frame (any rounds)
    submissions: pd.DataFrame        # register.submissions_frame (any rounds)
    scale: Scale
    round: str
    council: str = "The Council"
    marking: str = ""                # [council] marking: at the top right of every printed page
    today: dt.date = field(default_factory=dt.date.today)
    rounds: list[str] = field(default_factory=list)          # rounds in order; default: order in all_answers
    areas: list[tuple[int, str]] | None = None               # (number, name) in framework order
    activities: list[tuple[str, int, str]] | None = None     # (ref, area, statement) in framework order
    framework_label: str = ""
    # register.benefits.BENEFIT_COLUMNS: every benefit recorded so far (the benefits log as it is
    # now, and the review group's meeting records); None: not known, and the sheet says so
    benefits: pd.DataFrame | None = None
    benefits_note: str = ""          # why some or all benefits are not shown (a log that cannot be read)



# --- loading from a workspace ----------------------------------------------------------
def load_summary_data(workspace, round: str | None = None, today: dt.date | None = None) -> SummaryData:
    """Read what the summary needs from the workspace register (default round: the latest
    round with accepted returns)."""
    conn = reg.open_register(workspace, readonly=True)
    try:
        all_rounds = reg.rounds(conn)
        all_answers = reg.answers_frame(conn)
        if not all_rounds and all_answers.empty:
            raise SummaryError(
                "the register is empty: no workbooks have been issued or returned yet. Issue them with "
                "'cmrg generate --round ROUND', drop the returns into inbox/ and run 'cmrg ingest' first."
            )
        with_returns = [r for r in all_rounds if r in set(all_answers["round"])]
        with_returns += sorted(set(all_answers["round"]) - set(with_returns))
        if round is None:
            if not with_returns:
                raise SummaryError(
                    f"no accepted returns yet in any round ({', '.join(all_rounds)}): drop returned workbooks "
                    "into inbox/ and run 'cmrg ingest' first."
                )
            round = with_returns[-1]
        elif round not in all_rounds and round not in with_returns:
            raise SummaryError(f"round {round!r} is not in the register; rounds: {', '.join(all_rounds) or 'none'}")
        answers = all_answers[all_answers["round"] == round].reset_index(drop=True)
        if answers.empty:
            raise SummaryError(
                f"round {round!r} has no accepted returns yet, so there is nothing to summarise. "
                "Run 'cmrg ingest' once returns arrive" + (
                    f", or choose a round that has them: {', '.join(with_returns)}." if with_returns else ".")
            )
        subs = reg.submissions_frame(conn)
        fw = None
        hashes = subs.loc[(subs["round"] == round) & (subs["outcome"] == "accepted"), "framework_hash"].dropna()
        if len(hashes):
            fw = reg.load_framework(conn, hashes.iloc[-1])
        if fw is None:
            fw = workspace.framework()
        benefits, benefits_note = _benefits(workspace, conn, today or dt.date.today())
        return SummaryData(
            benefits=benefits, benefits_note=benefits_note,
            answers=answers, all_answers=all_answers, issues=reg.issues_frame(conn), submissions=subs,
            scale=fw.scale, round=round, council=workspace.config.council_name,
            marking=workspace.config.marking, today=today or dt.date.today(),
            rounds=all_rounds, areas=[(a.number, a.name) for a in fw.areas],
            activities=[(x.ref, x.area, x.text) for x in fw.activities], framework_label=fw.label,
        )
    finally:
        conn.close()



def _benefits(workspace, conn, today: dt.date) -> tuple[pd.DataFrame | None, str]:
    """Every benefit recorded so far: the register's own (from meeting records) and the benefits
    log read as it is now (the summary only reads, so the log is not copied into the register).
    A log that cannot be used leaves its rows out, and the note says why."""
    from ...core.benefits import FILE_NAME, BenefitsLogError, read_benefits_log
    from ...register.benefits import BENEFIT_COLUMNS, benefits_frame

    try:
        held = benefits_frame(conn)
    except Exception:  # noqa: BLE001  (a register from before the benefits table: nothing recorded there)
        held = pd.DataFrame({c: pd.Series(dtype="object") for c in BENEFIT_COLUMNS})
    held = held[~held["source"].astype(str).str.startswith(f"{FILE_NAME} row")]
    contracts = reg.contracts_frame(conn).set_index("contract_id")
    note = ""
    try:
        log = read_benefits_log(workspace.root / FILE_NAME, set(contracts.index), today)
    except BenefitsLogError as exc:
        log, note = [], f"{exc} Its benefits are not shown here until it is put right."
    rows = [{"contract_id": b.contract_id, "benefit_date": b.date, "description": b.description,
             "amount_gbp": b.amount_gbp, "kind": b.type, "caveat": b.caveat, "source": b.source,
             "title": contracts["title"].get(b.contract_id, ""),
             "directorate": contracts["directorate"].get(b.contract_id, ""),
             "annual_value_gbp": contracts["annual_value_gbp"].get(b.contract_id)} for b in log]
    frames = [f for f in (held, pd.DataFrame(rows, columns=BENEFIT_COLUMNS)) if len(f)]
    out = pd.concat(frames, ignore_index=True) if frames else held
    if len(out):
        out = out.sort_values(["benefit_date", "contract_id"], kind="stable").reset_index(drop=True)
    return out[BENEFIT_COLUMNS], note
