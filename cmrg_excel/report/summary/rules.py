"""The findings rules: strengths, issues, inconsistent practice, ratings without evidence.

Pure functions over the answers frame, with the thresholds of :class:`SummarySettings`;
the summary's Findings and Dashboard sheets and the committee paper all use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...core.framework import Scale
from .calc import activity_scores, contract_area_scores, ref_order
from .settings import SummarySettings

MAX_IDS_LISTED = 40


@dataclass
class Finding:
    kind: str            # strength, issue, inconsistency, evidence
    subject: str         # "Area 3: Administration" or "Activity 3.2: ..."
    text: str            # the plain-English sentence
    count: int           # contracts concerned
    total: int           # contracts considered
    contracts: list[str]
    level: str = "area"  # area, activity, contract
    share: float = 0.0
    detail: str = ""     # the sentence without its subject, for a table that names the subject beside it
    lowest: list[str] = field(default_factory=list)   # inconsistency: the contracts at each end
    highest: list[str] = field(default_factory=list)



def good_score(scale: Scale) -> float:
    """The benchmark level's score (:attr:`Scale.good_score`: the level called Good, else the middle one)."""
    return float(scale.good_score)


def level_name(scale: Scale, score: float) -> str:
    """A level's name without the score its label may start with ("2 Good" is "Good")."""
    return scale.name_of(int(score))


def level_below(scale: Scale, score: float) -> float | None:
    """The score of the level just below ``score``'s level, or None at the bottom (scores may have gaps)."""
    lower = [lv.score for lv in scale.levels if lv.score < score]
    return float(max(lower)) if lower else None


def above_good(scale: Scale) -> str:
    """The names of the levels above Good ("Better or Best")."""
    return scale.above_good()


def spread_text(settings: SummarySettings, scale: Scale) -> str:
    """The inconsistency threshold in words: "1.2 points" on a scale of one point a level; it is
    set in levels (``inconsistency_sd``), so on 0 to 100 in steps of 25 it is 30 points."""
    if scale.step == 1:
        return f"{settings.inconsistency_sd:g} points"
    return (f"{settings.inconsistency_sd:g} levels ({settings.inconsistency_sd * scale.step:g} points, a level being "
            f"{scale.step:g} points on average)")


def pct(x: float) -> str:
    return f"{x * 100:.0f}%"


def id_list(ids) -> str:
    ids = list(ids)
    if len(ids) <= MAX_IDS_LISTED:
        return ", ".join(ids)
    return ", ".join(ids[:MAX_IDS_LISTED]) + f" and {len(ids) - MAX_IDS_LISTED} more"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def compute_findings(answers: pd.DataFrame, areas: list[tuple[int, str]], activities: list[tuple[str, int, str]],
                     scale: Scale, settings: SummarySettings) -> dict[str, list]:
    """Strengths, issues, inconsistencies and Better/Best ratings without evidence (one
    finding per contract; the ratings themselves under "evidence_rows")."""
    good = good_score(scale)
    below = level_below(scale, good)
    good_name, low_name = level_name(scale, good), (level_name(scale, below) if below is not None else "lower")
    # An area average counts as below Good once it is nearer the level below than Good itself.
    weak_area = (good + below) / 2 if below is not None else -np.inf
    area_scores = contract_area_scores(answers)
    out: dict[str, list[Finding]] = {"strength": [], "issue": [], "inconsistency": [], "evidence": []}
    lowest = level_name(scale, min(lv.score for lv in scale.levels))

    def judge(subject: str, col: np.ndarray, ids: np.ndarray, level: str, mean_text: str):
        ok = ~np.isnan(col)
        n = int(ok.sum())
        if n == 0:
            return
        values, who = col[ok], ids[ok]
        is_area = level == "area"
        strong = values >= good
        weak = values < (weak_area if is_area else good)
        what = "average" if is_area else "rate this"
        k = int(strong.sum())
        if k / n >= settings.strength_share:
            detail = f"{k:,} of {n:,} contracts ({pct(k / n)}) {what} {good_name} or better{mean_text}."
            out["strength"].append(Finding(
                "strength", subject, f"{subject} is a strength: {detail}",
                k, n, sorted(who[strong].tolist()), level, k / n, f"A strength: {detail}"))
        k = int(weak.sum())
        if k / n >= settings.issue_share:
            lower = f"{low_name} or lower" if is_area else f"{low_name} or {lowest}"
            detail = f"{k:,} of {n:,} contracts ({pct(k / n)}) {what} {lower}{mean_text}."
            out["issue"].append(Finding(
                "issue", subject, f"{subject} needs attention: {detail}",
                k, n, sorted(who[weak].tolist()), level, k / n, f"Needs attention: {detail}"))
        if n >= 3:
            sd = float(values.std(ddof=1))
            if sd >= settings.inconsistency_sd * scale.step:  # set in levels, measured in points
                # the contracts at each end: within a quarter of the range of the lowest / highest
                lo_v, hi_v = float(values.min()), float(values.max())
                band = (hi_v - lo_v) / 4
                low = sorted(who[values <= lo_v + band].tolist())
                high = sorted(who[values >= hi_v - band].tolist())
                lo, hi = int(values.argmin()), int(values.argmax())
                spread = (f"the spread (standard deviation) is {sd:.1f} points, from {values[lo]:.1f} ({who[lo]}) "
                          f"to {values[hi]:.1f} ({who[hi]}).")
                out["inconsistency"].append(Finding(
                    "inconsistency", subject, f"{subject} is rated very differently across contracts: {spread} "
                                              f"Lowest: {id_list(low)}. Highest: {id_list(high)}.",
                    len(low) + len(high), n, low + high, level, sd,
                    f"Rated very differently across contracts: {spread[0].upper()}{spread[1:]}", low, high))

    ids = area_scores.index.astype(str).to_numpy(dtype=object)
    for number, name in areas:
        if number in area_scores.columns:
            col = area_scores[number].to_numpy(dtype="float64")
            judge(f"Area {number}, {name}", col, ids, "area", f" (area average {np.nanmean(col):.1f})")
    wide = activity_scores(answers)
    ids = wide.index.astype(str).to_numpy(dtype=object)
    for ref, _area, text in activities:
        if ref in wide.columns:
            judge(f"Activity {ref} ({text.rstrip('.')})", wide[ref].to_numpy(dtype="float64"), ids, "activity", "")
    for key in ("strength", "issue"):
        out[key].sort(key=lambda f: (f.level != "area", -f.share))
    out["inconsistency"].sort(key=lambda f: (f.level != "area", -f.share))

    # Better or Best without (enough) evidence.
    short = unsupported_ratings(answers, scale, settings)
    out["evidence_rows"] = short
    if len(short):
        per = short.groupby("contract_id", sort=True).agg(title=("title", "first"), refs=("ref", ", ".join),
                                                           n=("ref", "size"))
        for cid, title, refs, k in per.itertuples():
            detail = (f"{plural(int(k), 'rating')} above {good_name} with no evidence or under "
                      f"{settings.evidence_min_chars} characters of it: {refs}.")
            out["evidence"].append(Finding(
                "evidence", f"{cid}, {title}", f"{cid} ({title}) claims {detail}",
                1, 1, [cid], "contract", float(k), f"Claims {detail}"))
    return out


def unsupported_ratings(answers: pd.DataFrame, scale: Scale, settings: SummarySettings) -> pd.DataFrame:
    """Ratings above Good whose evidence is missing or shorter than ``evidence_min_chars``,
    in contract and activity order."""
    claimed = answers[(answers["score"] > good_score(scale)) & ~answers["not_applicable"].astype(bool)]
    # list comprehension: pandas .str methods are several times slower on 20,000+ strings
    lengths = [len(e.strip()) if isinstance(e, str) else 0 for e in claimed["evidence"].tolist()]
    short = claimed[np.asarray(lengths, dtype=int) < settings.evidence_min_chars]
    return short.assign(_k=ref_order(short["ref"])).sort_values(["contract_id", "_k"]).drop(columns="_k")

