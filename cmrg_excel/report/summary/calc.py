"""The summary's calculations, in pure pandas: scores by contract, area and activity,
rating counts, change since earlier reviews, outstanding returns and improvement actions.

Scores: a contract's score for an area is the mean of its key-activity scores there, with
Not applicable left out. Averages across contracts give each contract equal weight.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd

from ...core.framework import Scale
from .data import SummaryData

UNCHANGED_WITHIN = 0.05


def ref_key(ref: str) -> tuple[int, int]:
    a, _, b = str(ref).partition(".")
    return (int(a) if a.isdigit() else 0, int(b) if b.isdigit() else 0)


def ref_order(refs: pd.Series) -> pd.Series:
    """A sortable number for each activity reference (1.2 before 1.10)."""
    uniq = pd.unique(refs.astype(str))
    key = {r: a * 10000 + b for r, (a, b) in ((r, ref_key(r)) for r in uniq)}
    return refs.astype(str).map(key)


def contract_area_scores(answers: pd.DataFrame) -> pd.DataFrame:
    """Contracts x areas: the mean score of each contract's activities in each area."""
    return answers.groupby(["contract_id", "area"])["score"].mean().unstack("area")


def activity_scores(answers: pd.DataFrame) -> pd.DataFrame:
    """Contracts x activity references: each contract's score (NaN for Not applicable)."""
    return answers.groupby(["contract_id", "ref"])["score"].mean().unstack("ref")


def contract_overall(answers: pd.DataFrame) -> pd.Series:
    """Each contract's mean over all its rated (not Not applicable) activities."""
    return answers.groupby("contract_id")["score"].mean()


def rounded_change(values):
    """Changes in average score, rounded to the 2 places shown, with -0.0 made 0.0: a fall too small
    to show reads 0.00, not -0.00 (number formats cannot hide a minus sign on a rounded zero)."""
    return values.round(2) + 0.0 if hasattr(values, "round") else round(values, 2) + 0.0


def rating_counts(answers: pd.DataFrame, areas: list[tuple[int, str]], scale: Scale) -> pd.DataFrame:
    """Areas x rating labels: how many key-activity ratings of each label."""
    counts = answers.groupby(["area", "rating"]).size().unstack("rating", fill_value=0)
    return counts.reindex(index=[a for a, _ in areas], columns=scale.labels, fill_value=0).fillna(0).astype(int)


def progress_frames(data: SummaryData) -> dict[str, object]:
    """Change between each contract's previous review and this round."""
    allans = data.all_answers
    order = list(dict.fromkeys([*data.rounds, *allans["round"].dropna().unique()]))
    pos = {r: i for i, r in enumerate(order)}
    cur = pos[data.round]
    means = allans.groupby(["contract_id", "round", "area"])["score"].mean().unstack("area")
    overall = allans.groupby(["contract_id", "round"])["score"].mean()
    means["overall"] = overall
    means = means.reset_index()
    means["pos"] = means["round"].map(pos)
    now = means[means["pos"] == cur].set_index("contract_id")
    earlier = means[(means["pos"] < cur) & means["contract_id"].isin(now.index)]
    if earlier.empty:
        return {"contracts": []}
    prev = earlier.sort_values("pos").groupby("contract_id").tail(1).set_index("contract_id").sort_index()
    ids = list(prev.index)
    cols = [a for a, _ in data.areas] + ["overall"]
    before = prev.reindex(columns=cols)
    after = now.loc[ids].reindex(columns=cols)
    delta = rounded_change(after - before)
    trend_rounds = [r for r in order if pos[r] <= cur]
    sub = means[means["contract_id"].isin(ids) & means["pos"].le(cur)]
    trend = sub.groupby("round")[cols].mean().reindex(trend_rounds).dropna(how="all")
    changes = data.answers[data.answers["contract_id"].isin(ids)]
    change_counts = changes.groupby(["area", "change"]).size().unstack("change", fill_value=0)
    change_counts = change_counts.reindex(index=[a for a, _ in data.areas], columns=["changed", "re-confirmed", "new"],
                                          fill_value=0).fillna(0).astype(int)
    return {"contracts": ids, "before": before, "after": after, "delta": delta, "prev_round": prev["round"],
            "trend": trend, "changes": change_counts}


def outstanding_returns(data: SummaryData, reviewed: set[str]) -> list[str]:
    """Contracts of the round whose workbook is still out (issued, no accepted return)."""
    iss = data.issues
    if iss is None or iss.empty or "round" not in iss:
        return []
    open_ = iss[(iss["round"] == data.round) & (iss.get("status", "issued") == "issued")]
    return sorted(set(open_["contract_id"]) - reviewed)


def rejected_returns(data: SummaryData, outstanding: list[str]) -> list[str]:
    """Of the ``outstanding`` contracts, those whose owner did send a return this round but it
    was rejected (so it is awaiting correction, not missing). A file that turned out to be
    another contract's workbook does not count: that contract's owner sent nothing."""
    subs = data.submissions
    if subs is None or subs.empty or not outstanding or "outcome" not in subs:
        return []
    mine = subs[(subs["round"] == data.round) & (subs["outcome"] == "rejected") & subs["contract_id"].isin(outstanding)]
    return sorted({cid for cid, problems in zip(mine["contract_id"], mine.get("problems", [""] * len(mine)))
                   if not _misaddressed(problems)})


def _misaddressed(problems: object) -> bool:
    try:
        items = json.loads(problems) if isinstance(problems, str) else (problems or [])
    except ValueError:
        return False
    return any(isinstance(p, dict) and p.get("code") == "wrong-contract" for p in items)


def actions_frame(ans: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """The answers that carry an improvement action, overdue first, with their status."""
    has = np.asarray([isinstance(a, str) and a.strip() != "" for a in ans["action"].tolist()], dtype=bool)
    act = ans[has].copy()
    if act.empty:
        act["status"] = pd.Series(dtype="object")
        return act
    target = pd.to_datetime(act["target_date"], errors="coerce")
    act["target_date"] = target
    overdue = target < pd.Timestamp(today)
    act["status"] = np.where(target.isna(), "No target date", np.where(overdue, "Overdue", "Open"))
    act["_order"] = np.select([overdue, target.notna()], [0, 1], 2)
    act["_refkey"] = ref_order(act["ref"])
    return act.sort_values(["_order", "target_date", "contract_id", "_refkey"]).drop(columns=["_order", "_refkey"])

