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
        return SummaryData(
            answers=answers, all_answers=all_answers, issues=reg.issues_frame(conn), submissions=subs,
            scale=fw.scale, round=round, council=workspace.config.council_name,
            marking=workspace.config.marking, today=today or dt.date.today(),
            rounds=all_rounds, areas=[(a.number, a.name) for a in fw.areas],
            activities=[(x.ref, x.area, x.text) for x in fw.activities], framework_label=fw.label,
        )
    finally:
        conn.close()

