"""Choosing which contracts to review, and when.

:func:`score_contracts` gives every contract a score out of 100 from six criteria whose
weights come from the ``[plan]`` section of ``cmrg.toml``; each criterion's contribution
is kept, so the score can be explained. :func:`schedule` turns the scores into a
month-by-month plan that spreads reviews across directorates and puts contracts with a
re-commissioning or end date coming up ahead of that date. Both take and return plain
data. The plan workbook (writing it without losing the group's edits, reading it back)
is :mod:`.plan_workbook`; which contracts a month's plan holds for a workspace is
:mod:`.planned`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from ..core.contracts import Contract
from ..core.errors import CmrgError
from ..core.settings import check_section

# (key, heading, setting, how it is measured) in the order they are shown everywhere.
CRITERIA: tuple[tuple[str, str, str, str], ...] = (
    ("value", "Value", "weight_value",
     "Annual and total value, each on a log scale from the smallest to the largest contract on the list "
     "(so £50m is not 100 times £500k), averaged."),
    ("risk", "Risk", "weight_risk", "Risk rating: High full marks, Medium half, Low none."),
    ("complexity", "Complexity", "weight_complexity", "Complexity rating: High full marks, Medium half, Low none."),
    ("audit_synergy", "Audit synergy", "weight_audit_synergy",
     "Full marks when internal audit is looking at the contract or service this year."),
    ("timing", "Timing", "weight_timing",
     "A re-commissioning/extension decision or end date within the horizon: the sooner, the more marks. "
     "Dates already passed do not count."),
    ("since_review", "Time since review", "weight_since_review",
     "Full marks if never reviewed; otherwise rising with the months since the last review."),
)
CRITERION_KEYS = tuple(c[0] for c in CRITERIA)
DEFAULT_WEIGHTS = {"value": 30, "risk": 20, "complexity": 10, "audit_synergy": 10, "timing": 20, "since_review": 10}
LEVEL_SHARE = {"Low": 0.0, "Medium": 0.5, "High": 1.0}
DAYS_PER_MONTH = 365.25 / 12


class PlanError(CmrgError):
    """The plan settings are invalid or there is nothing to plan."""


@dataclass(frozen=True)
class PlanSettings:
    """The ``[plan]`` settings, checked; weights as set (not yet scaled)."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    per_month: int = 3
    months: int = 12
    timing_horizon_months: int = 18
    max_directorate_share: float = 0.5
    # Review a contract at least this many months before its re-commissioning/end date.
    lead_months: int = 2
    # Months since the last review that earn full marks for "time since review".
    review_full_months: int = 36

    @property
    def scaled_weights(self) -> dict[str, float]:
        """Weights scaled so that they add up to 100."""
        total = sum(self.weights.values())
        return {k: 100.0 * self.weights.get(k, 0) / total for k in CRITERION_KEYS}

    @classmethod
    def from_section(cls, section: Mapping[str, object], **overrides: object) -> "PlanSettings":
        """Settings from ``ws.config.section("plan")``, defaults where absent; ``overrides`` (not None) win.
        A section that breaks a rule raises :class:`~cmrg_excel.core.settings.SettingsError` naming it."""

        checked = check_section("plan", dict(section))  # the one set of rules (core/settings.py)
        values = dict(
            weights={key: checked[setting] for key, _, setting, _ in CRITERIA},
            **{key: checked[key] for key in ("per_month", "months", "timing_horizon_months", "max_directorate_share",
                                             "lead_months", "review_full_months")},
        )
        for key, value in overrides.items():
            if value is not None:
                values[key] = value
        return cls(**values)


@dataclass(frozen=True)
class ContractScore:
    """One contract's score: each criterion's share (0-1), its points, and why."""

    contract: Contract
    shares: dict[str, float]         # criterion -> 0..1 before weighting
    contributions: dict[str, float]  # criterion -> points (weight out of 100 x share), 1 d.p. as shown
    key_date: dt.date | None         # the re-commissioning or end date that earned timing marks
    key_date_kind: str | None        # "re-commissioning" or "end"
    last_review: dt.date | None
    reason: str

    @property
    def total(self) -> float:
        return round(sum(self.contributions.values()), 1)

    @property
    def contract_id(self) -> str:
        return self.contract.contract_id


@dataclass(frozen=True)
class PlannedReview:
    month: dt.date  # first day of the month
    contract_id: str
    title: str
    directorate: str
    score: float
    reason: str
    review_by: dt.date | None = None  # latest month that keeps the lead time before the key date


@dataclass(frozen=True)
class Plan:
    start: dt.date
    settings: PlanSettings
    scores: list[ContractScore]
    reviews: list[PlannedReview]

    @property
    def unscheduled(self) -> list[ContractScore]:
        planned = {r.contract_id for r in self.reviews}
        return [s for s in self.scores if s.contract_id not in planned]


# --- scoring ---------------------------------------------------------------------------
def money_short(amount: float) -> str:
    """£58m, £14.5m, £640k, £950."""
    if amount >= 1e9:
        return f"£{amount / 1e9:.3g}bn"
    if amount >= 1e6:
        return f"£{amount / 1e6:.3g}m"
    if amount >= 1e3:
        return f"£{amount / 1e3:.3g}k"
    return f"£{amount:,.0f}"


def _log_scaler(values: Iterable[float]):
    logs = [math.log10(1 + max(v, 0)) for v in values]
    lo, hi = (min(logs), max(logs)) if logs else (0.0, 0.0)

    def scale(v: float) -> float:
        if hi <= lo:
            return 1.0
        return (math.log10(1 + max(v, 0)) - lo) / (hi - lo)

    return scale


def _months_between(earlier: dt.date, later: dt.date) -> float:
    return (later - earlier).days / DAYS_PER_MONTH


def key_date(contract: Contract, today: dt.date, horizon_months: int) -> tuple[dt.date | None, str | None]:
    """The soonest re-commissioning or end date from today within the horizon."""
    candidates = [(d, kind) for d, kind in ((contract.recommission_date, "re-commissioning"), (contract.end_date, "end"))
                  if d is not None and d >= today and _months_between(today, d) <= horizon_months]
    return min(candidates) if candidates else (None, None)


def score_contracts(
    contracts: Iterable[Contract],
    settings: PlanSettings,
    today: dt.date,
    last_reviews: Mapping[str, dt.date] | None = None,
) -> list[ContractScore]:
    """Score every contract out of 100, highest first (ties by contract ID).

    ``last_reviews`` adds review dates known elsewhere (the register's accepted returns);
    the later of it and the list's "Last review" column counts.
    """
    contracts = list(contracts)
    last_reviews = last_reviews or {}
    annual = _log_scaler(c.annual_value_gbp for c in contracts)
    total = _log_scaler(c.total_value_gbp for c in contracts)
    weights = settings.scaled_weights
    out = []
    for c in contracts:
        when, kind = key_date(c, today, settings.timing_horizon_months)
        reviewed = max((d for d in (c.last_review_date, last_reviews.get(c.contract_id)) if d is not None), default=None)
        shares = {
            "value": (annual(c.annual_value_gbp) + total(c.total_value_gbp)) / 2,
            "risk": LEVEL_SHARE.get(c.risk, 0.0),
            "complexity": LEVEL_SHARE.get(c.complexity, 0.0),
            "audit_synergy": 1.0 if c.audit_synergy else 0.0,
            "timing": (max(0.0, 1 - _months_between(today, when) / settings.timing_horizon_months)
                       if when is not None else 0.0),
            "since_review": (1.0 if reviewed is None else
                             min(1.0, max(0.0, _months_between(reviewed, today) / settings.review_full_months))),
        }
        # Rounded as shown, so that the points on the Scores sheet visibly add up to the total.
        contributions = {k: round(weights[k] * shares[k], 1) for k in CRITERION_KEYS}
        reason = _reason(c, shares, when, kind, reviewed, today)
        out.append(ContractScore(c, shares, contributions, when, kind, reviewed, reason))
    out.sort(key=lambda s: (-s.total, s.contract_id))
    return out


def _reason(c: Contract, shares: dict[str, float], when: dt.date | None, kind: str | None,
            reviewed: dt.date | None, today: dt.date) -> str:
    parts = []
    if shares["value"] >= 0.6:
        parts.append(f"High value ({money_short(c.annual_value_gbp)} a year)")
    if c.risk == "High":
        parts.append("high risk")
    if c.complexity == "High":
        parts.append("high complexity")
    if when is not None:
        label = "re-commissioning due" if kind == "re-commissioning" else "contract ends"
        parts.append(f"{label} {when:%d/%m/%Y}")
    if shares["audit_synergy"]:
        parts.append("audit synergy")
    if reviewed is None:
        parts.append("never reviewed")
    elif shares["since_review"] >= 0.66:
        years = int(_months_between(reviewed, today) // 12)
        parts.append(f"last reviewed {reviewed:%m/%Y} ({years} years ago)" if years >= 2 else f"last reviewed {reviewed:%m/%Y}")
    if not parts:
        return "No strong factor; lower priority"
    text = ", ".join(parts)
    return text[0].upper() + text[1:]


# --- scheduling ------------------------------------------------------------------------
def month_start(d: dt.date) -> dt.date:
    return d.replace(day=1)


def add_months(d: dt.date, n: int) -> dt.date:
    m = d.year * 12 + d.month - 1 + n
    return dt.date(m // 12, m % 12 + 1, 1)


def _month_index(start: dt.date, d: dt.date) -> int:
    return (d.year - start.year) * 12 + d.month - start.month


def directorate_cap(settings: PlanSettings) -> int:
    """Most reviews one directorate may have in a month while others are waiting."""
    return max(1, math.floor(settings.max_directorate_share * settings.per_month + 1e-9))


def schedule(scores: Iterable[ContractScore], settings: PlanSettings, start: dt.date) -> list[PlannedReview]:
    """A month-by-month plan from the month of ``start``.

    Each month takes ``per_month`` reviews. A contract with a key date (re-commissioning
    or end) must be reviewed ``lead_months`` before it, or as soon as possible when that
    is already too late; those due are placed first, and earlier when later months would
    be too full to meet every such date. The rest follow by score. No directorate takes
    more than ``max_directorate_share`` of a month's reviews while another directorate
    still has a contract waiting.
    """
    first = month_start(start)
    remaining = list(scores)  # highest score first, as score_contracts returns them
    rank = {s.contract_id: i for i, s in enumerate(remaining)}
    # A key date before the first month (the plan was made earlier, and the decision is still
    # to come) counts as due in the first month: reviewed as soon as possible.
    key_index = {s.contract_id: max(0, _month_index(first, s.key_date)) for s in remaining if s.key_date is not None}
    due_index = {cid: max(0, k - settings.lead_months) for cid, k in key_index.items()}
    cap = directorate_cap(settings)
    plan: list[PlannedReview] = []
    for m in range(settings.months):
        if not remaining:
            break
        # A key date that has passed no longer makes a review urgent: it is too late to inform it.
        dated = {s.contract_id: due_index[s.contract_id] for s in remaining
                 if s.contract_id in key_index and key_index[s.contract_id] >= m}
        urgent = _urgent(dated, m, settings.per_month)
        order = sorted(remaining, key=lambda s: (s.contract_id not in urgent,
                                                 dated.get(s.contract_id, 0) if s.contract_id in urgent else 0,
                                                 rank[s.contract_id]))
        taken: list[ContractScore] = []
        per_dir: dict[str, int] = {}
        while len(taken) < settings.per_month and order:
            pick = next((s for s in order if per_dir.get(s.contract.directorate, 0) < cap), order[0])
            order.remove(pick)
            taken.append(pick)
            per_dir[pick.contract.directorate] = per_dir.get(pick.contract.directorate, 0) + 1
        month = add_months(first, m)
        for s in taken:
            remaining.remove(s)
            due = due_index.get(s.contract_id)
            review_by = add_months(first, due) if due is not None else None
            if s.key_date is not None and s.key_date < first:
                reason = (f"{s.reason}; the decision falls before the plan's first month, so reviewed as "
                          "soon as possible" if month == first else
                          f"{s.reason}; the decision falls before the plan's first month, which was full")
            else:
                reason = _schedule_reason(s, month, review_by, settings.lead_months)
            plan.append(PlannedReview(month, s.contract_id, s.contract.title, s.contract.directorate, s.total,
                                      reason, review_by))
    return plan


def _urgent(dated: dict[str, int], m: int, per_month: int) -> set[str]:
    """Contracts that must go this month so that every review-by month can still be met."""
    ordered = sorted((due, cid) for cid, due in dated.items())
    urgent: set[str] = set()
    for i, (due, _) in enumerate(ordered):
        # i + 1 contracts need a slot by month `due`: if they fill every slot up to it, start them now.
        if due <= m or i + 1 >= (due - m + 1) * per_month:
            urgent.update(cid for _, cid in ordered[: i + 1])
    return urgent


def _schedule_reason(s: ContractScore, month: dt.date, review_by: dt.date | None, lead_months: int) -> str:
    if review_by is None or s.key_date is None or month <= review_by:
        return s.reason
    label = "re-commissioning" if s.key_date_kind == "re-commissioning" else "the end date"
    ahead = _month_index(month, s.key_date)
    if ahead < 0:
        return f"{s.reason}; the months before {label} were full"
    when = "in the month of" if ahead == 0 else f"{ahead} month{'s' if ahead > 1 else ''} before"
    return f"{s.reason}; scheduled {when} {label}, short of the {lead_months}-month lead (earlier months full)"


def default_start(today: dt.date) -> dt.date:
    """Where a plan starts unless told otherwise: the first day of next month."""
    return add_months(month_start(today), 1)


def make_plan(contracts: Iterable[Contract], settings: PlanSettings, start: dt.date,
              last_reviews: Mapping[str, dt.date] | None = None, *, today: dt.date | None = None) -> Plan:
    """Scores and schedule together, with timing measured from ``today`` (the day the plan is
    made; default ``start``) when that is earlier than ``start``: a decision due between
    today and the plan's first month is still to be informed, as soon as possible."""
    asof = min(today, start) if today is not None else start
    scores = score_contracts(contracts, settings, asof, last_reviews)
    if not scores:
        raise PlanError("the contract list has no contracts to plan")
    return Plan(start, settings, scores, schedule(scores, settings, start))
