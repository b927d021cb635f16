"""The six-monthly committee paper, drafted from the register, in the committee's own structure.

:func:`load_committee_data` gathers what the paper needs for a period (plain data);
:func:`committee_paper` turns it into a :class:`~cmrg_excel.kit.document.Document` with the
sections such a paper holds: cover block, Summary, Recommendation(s), 1 Introduction,
2 Approach, 3 Progress, 4 Findings, 5 Feedback, 6 Next steps, 7 Recommendation(s),
8 Background documents, 9 Contact details and a numbers appendix. Every figure is computed
from the register for the period; a section with nothing to report says so in a sentence.
:func:`contract_paper` is the shorter paper on a single contract.

"Considered in the period" means a contract whose self-assessment was accepted in the period
(the return the review group examined); a contract considered before the period and again in
it is a re-review.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from ..core.benefits import CASHABLE, FILE_NAME as BENEFITS_FILE, NON_CASHABLE, ONE_OFF, read_benefits_log
from ..core.errors import CmrgError
from ..core.settings import check_section
from ..core.framework import BUILTIN_PACKAGE, Framework
from ..kit.document import Bullets, Cover, Document, Heading, Image, PageBreak, Para, Table
from .. import register as reg
from ..register.benefits import benefits_frame, replace_log_benefits
from ..issue.plan import CRITERIA, PlanError, PlanSettings, add_months, make_plan, month_start
from ..issue.plan_workbook import PLAN_WORKBOOK, read_plan_schedule
from ..issue.planned import register_last_reviews
from ..core.contracts import read_contracts
from ..core.workspace import STANDING_TEXT
from .findings import CuratedFindings, read_curated_findings
from .summary import SummarySettings, compute_findings

DEFAULT_SUBJECT = "Contract Management Review Group: progress report"
UPCOMING_MONTHS = 6
RE_REVIEWS_LISTED = 20  # a committee reads the largest changes; the appendix has the counts


class ReportError(CmrgError):
    """The paper cannot be drafted (bad period, bad settings); the message says what to change."""


@dataclass(frozen=True)
class ReportSettings:
    """``[report]`` in cmrg.toml: the paper's cover block, contacts and one threshold."""

    committee: str = ""
    from_: str = ""
    subject: str = DEFAULT_SUBJECT
    author: str = ""
    author_contact: str = ""
    director: str = ""
    director_contact: str = ""
    benefit_threshold_gbp: float = 100_000.0
    marking: str = ""

    KEYS = {"committee": "committee", "from": "from_", "subject": "subject", "author": "author",
            "author_contact": "author_contact", "director": "director", "director_contact": "director_contact",
            "benefit_threshold_gbp": "benefit_threshold_gbp"}

    @classmethod
    def from_config(cls, report: dict | None, council: dict | None = None) -> "ReportSettings":
        """``[report]`` and ``[council] marking`` of cmrg.toml, checked by the one set of rules
        (core/settings.py)."""
        checked = check_section("report", dict(report or {}))
        values = {cls.KEYS[key]: value for key, value in checked.items()}
        values["marking"] = check_section("council", {"marking": (council or {}).get("marking", "")})["marking"]
        return cls(**values)

    def missing(self) -> list[str]:
        """Cover settings not filled in; the paper shows a placeholder for each."""
        names = {"committee": self.committee, "from": self.from_, "author": self.author, "director": self.director}
        return [k for k, v in names.items() if not v]


@dataclass
class CommitteeData:
    """Everything the paper says, as plain data (no register, no workspace)."""

    start: dt.date
    end: dt.date
    council: str
    review_group: str
    framework: Framework
    answers: pd.DataFrame             # current accepted answers: the period's returns (or one contract's)
    contracts: pd.DataFrame           # register.contracts_frame
    benefits: pd.DataFrame            # register.benefits.benefits_frame for the period
    upcoming: list[tuple[dt.date, str, str, str]] = field(default_factory=list)  # month, id, title, directorate
    upcoming_source: str = ""
    plan_weights: dict[str, float] = field(default_factory=dict)                  # criterion label -> share %
    feedback: pd.DataFrame = field(default_factory=pd.DataFrame)
    curated: CuratedFindings | None = None
    summary_settings: SummarySettings = field(default_factory=SummarySettings)
    standing: dict[str, list[str]] = field(default_factory=dict)
    meeting_date: dt.date | None = None
    all_returns: pd.DataFrame | None = None  # register.returns_frame: every return, for totals and re-reviews

    # --- what was considered -----------------------------------------------------------
    def returns(self) -> pd.DataFrame:
        """One row per accepted return: contract, round, received date, overall score."""
        cached = self.__dict__.get("_returns")
        if cached is None:
            cached = self.__dict__["_returns"] = self._returns()
        return cached

    def _returns(self) -> pd.DataFrame:
        if self.all_returns is not None:
            at = pd.to_datetime(self.all_returns["received_at"], utc=True).dt.tz_convert(None)
            return self.all_returns.assign(received_at=at, received=at.dt.date).sort_values(
                ["received_at", "contract_id"]).reset_index(drop=True)
        a = self.answers
        if a.empty:
            return pd.DataFrame(columns=["contract_id", "round", "received_at", "received", "overall",
                                         "directorate", "title"])
        at = pd.to_datetime(a["received_at"], utc=True).dt.tz_convert(None)
        frame = a.assign(received_at=at, received=at.dt.date)
        out = (frame.groupby(["contract_id", "round"], sort=False)
               .agg(received_at=("received_at", "first"), received=("received", "first"), overall=("score", "mean"),
                    directorate=("directorate", "first"), title=("title", "first"))
               .reset_index())
        return out.sort_values(["received_at", "contract_id"]).reset_index(drop=True)

    def considered(self) -> pd.DataFrame:
        """The latest return in the period of each contract considered in it."""
        r = self.returns()
        inside = r[(r["received"] >= self.start) & (r["received"] <= self.end)]
        return inside.groupby("contract_id", sort=False).tail(1).reset_index(drop=True)

    def considered_to_date(self) -> pd.DataFrame:
        r = self.returns()
        return r[r["received"] <= self.end].groupby("contract_id", sort=False).tail(1).reset_index(drop=True)

    def re_reviews(self) -> pd.DataFrame:
        """Contracts considered in the period that had an earlier accepted return: before and now."""
        columns = ["contract_id", "title", "directorate", "before_round", "before", "round", "now"]
        r = self.returns()  # in order of receipt
        r = r.assign(before_round=r.groupby("contract_id")["round"].shift(),
                     before=r.groupby("contract_id")["overall"].shift())
        now = self.considered()[["contract_id", "round"]]
        both = now.merge(r, on=["contract_id", "round"])
        both = both[both["before_round"].notna() & (both["before_round"] != both["round"])]
        return both.rename(columns={"overall": "now"})[columns].reset_index(drop=True)

    def period_answers(self) -> pd.DataFrame:
        c = self.considered()
        if c.empty:
            return self.answers.iloc[0:0]
        return self.answers.merge(c[["contract_id", "round"]], on=["contract_id", "round"])

    def area_means(self) -> pd.DataFrame:
        """Mean score per area over the contracts considered in the period (Not applicable left out)."""
        a = self.period_answers()
        areas = [(x.number, x.name) for x in self.framework.areas]
        if a.empty:
            return pd.DataFrame({"area": [n for n, _ in areas], "name": [m for _, m in areas], "mean": [None] * len(areas)})
        per_contract = a.groupby(["contract_id", "area"])["score"].mean().reset_index()
        means = per_contract.groupby("area")["score"].mean()
        return pd.DataFrame({"area": [n for n, _ in areas], "name": [m for _, m in areas],
                             "mean": [means.get(n) for n, _ in areas]})


# --- loading -------------------------------------------------------------------------------
def load_standing_text(ws) -> dict[str, list[str]]:
    """The workspace's committee-text.md (or the one that ships), as {section: paragraphs}."""
    path = ws.root / STANDING_TEXT
    if path.exists():
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (UnicodeDecodeError, OSError) as exc:
            raise ReportError(f"{STANDING_TEXT}: cannot be read as UTF-8 text ({exc}); save it as UTF-8") from None
    else:
        text = resources.files(BUILTIN_PACKAGE).joinpath(STANDING_TEXT).read_text(encoding="utf-8")
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for block in re.split(r"\n\s*\n", text):
        block = block.strip()
        if not block or block.startswith("<!--"):
            continue
        if block.startswith("## "):
            title, _, rest = block.partition("\n")
            current = sections.setdefault(title[3:].strip().lower(), [])
            block = rest.strip()
            if not block:
                continue
        if current is None:
            continue
        current.append(" ".join(block.split()) if not block.startswith("- ") else block)
    return sections


def _upcoming(ws, end: dt.date) -> tuple[list[tuple[dt.date, str, str, str]], str]:
    """Reviews planned in the months after the period: the plan workbook as saved, else recomputed."""
    first = month_start(end + dt.timedelta(days=1))
    last = add_months(first, UPCOMING_MONTHS)
    clist = read_contracts(ws.contracts_path)
    by_id = {c.contract_id: c for c in clist.contracts}
    path = ws.outbox / PLAN_WORKBOOK
    try:
        if path.exists():
            entries = [(e.month, e.contract_id) for e in read_plan_schedule(path, ws.rel(path))]
            source = f"the review plan ({ws.rel(path)})"
        else:
            plan = make_plan(clist.contracts, PlanSettings.from_section(ws.config.section("plan")), first,
                             register_last_reviews(ws), today=end)
            entries = [(r.month, r.contract_id) for r in plan.reviews]
            source = "the review plan as 'cmrg plan' would make it today"
    except PlanError:
        return [], ""
    out = []
    for month, cid in entries:
        if first <= month < last:
            c = by_id.get(cid)
            out.append((month, cid, c.title if c else "", c.directorate if c else ""))
    return sorted(out), source


def load_committee_data(ws, start: dt.date, end: dt.date, *, today: dt.date | None = None,
                        meeting_date: dt.date | None = None, contract_id: str | None = None) -> CommitteeData:
    """Read the register (after taking in benefits.xlsx) for the period ``start``..``end``:
    the answers of the returns received in it (or, with ``contract_id``, all of that contract's)."""
    today = today or dt.date.today()
    if end < start:
        raise ReportError(f"the period ends ({end:%d/%m/%Y}) before it starts ({start:%d/%m/%Y}): "
                          "check --from and --to")
    conn = reg.open_register(ws)
    try:
        known = set(reg.contracts_frame(conn)["contract_id"])
        log = read_benefits_log(ws.root / BENEFITS_FILE, known, today)
        replace_log_benefits(conn, log)
        if contract_id is None:
            answers = reg.answers_frame(conn, received_from=start, received_to=end)
        else:
            answers = reg.answers_frame(conn, contracts=[contract_id])
        returns = reg.returns_frame(conn)
        contracts = reg.contracts_frame(conn)
        benefits = benefits_frame(conn, start, end)
    finally:
        conn.close()
    upcoming, source = _upcoming(ws, end)
    try:
        settings = PlanSettings.from_section(ws.config.section("plan"))
        labels = {key: label for key, label, _, _ in CRITERIA}
        weights = {labels[k]: v for k, v in settings.scaled_weights.items()}
    except PlanError:
        weights = {}
    curated = read_curated_findings(ws.root / "findings.xlsx")
    return CommitteeData(
        start=start, end=end, council=ws.config.council_name, review_group=ws.config.review_group,
        framework=ws.framework(), answers=answers, contracts=contracts, benefits=benefits, upcoming=upcoming,
        upcoming_source=source, plan_weights=weights, curated=curated,
        summary_settings=SummarySettings.from_section(ws.config.section("summary")),
        standing=load_standing_text(ws), meeting_date=meeting_date, all_returns=returns,
    )


# --- wording helpers ---------------------------------------------------------------------------
def money(amount: float) -> str:
    """£1.1m, £850k, £12,500: how a committee paper writes pounds."""
    if amount >= 1_000_000:
        return f"£{amount / 1_000_000:,.1f}m".replace(".0m", "m")
    if amount >= 100_000:
        return f"£{amount / 1000:,.0f}k"
    return f"£{amount:,.0f}"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def day(d: dt.date) -> str:
    """4 June 2026: a date as a paper writes it."""
    return f"{d.day} {d:%B %Y}"


def _period(data: CommitteeData) -> str:
    return f"{day(data.start)} to {day(data.end)}"


def _fill(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\{([a-z_]+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


def _paragraphs(items: list[str]) -> list:
    blocks: list = []
    bullets: list[str] = []
    for item in items:
        if item.startswith("- "):
            bullets.extend(" ".join(line[2:].split()) for line in item.splitlines() if line.startswith("- "))
            continue
        if bullets:
            blocks.append(Bullets(bullets))
            bullets = []
        blocks.append(Para(item))
    if bullets:
        blocks.append(Bullets(bullets))
    return blocks


def area_chart(means: pd.DataFrame, framework: Framework, title: str) -> bytes:
    """A horizontal bar chart of the mean score per area, as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # not pyplot: no global state, and a faster import

    scores = [lv.score for lv in framework.scale.levels]
    labels = [f"{n} {name}" for n, name in zip(means["area"], means["name"])][::-1]
    values = [float(v) if v is not None and v == v else 0.0 for v in means["mean"]][::-1]
    fig = Figure(figsize=(7.5, 0.45 * len(labels) + 1.2), dpi=150)
    ax = fig.add_subplot()
    ax.barh(labels, values, color="#1F3A5F")
    ax.set_xlim(min(scores), max(scores))
    ax.set_xticks(scores)
    ax.set_xticklabels([f"{lv.score}\n{lv.label.split(' ', 1)[-1]}" for lv in framework.scale.levels], fontsize=8)
    for y, v in enumerate(values):
        ax.text(v + (max(scores) - min(scores)) * 0.01, y, f"{v:.1f}", va="center", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="y", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    out = io.BytesIO()
    FigureCanvasAgg(fig).print_png(out)
    return out.getvalue()


# --- the paper -------------------------------------------------------------------------------
def _findings(data: CommitteeData) -> tuple[list[str], list[str], str]:
    """Strengths, issues to address, and where they came from (curated or generated)."""
    if data.curated is not None and data.curated.themes:
        strengths = [t.text for t in data.curated.themes if t.kind == "Strength"]
        issues = [t.text + (" (legacy: to be addressed at re-commissioning)" if t.legacy else "")
                  for t in data.curated.themes if t.kind == "Issue"]
        return strengths, issues, "themes agreed by the review group (findings.xlsx)"
    strengths, issues = generated_findings(data)
    if not strengths and not issues:
        return [], [], "no returns"
    return strengths, issues, "the register's figures (no findings.xlsx of agreed themes yet)"


def generated_findings(data: CommitteeData) -> tuple[list[str], list[str]]:
    """Strengths and issues as the figures for the period show them."""
    answers = data.period_answers()
    if answers.empty:
        return [], []
    areas = [(a.number, a.name) for a in data.framework.areas]
    activities = [(x.ref, x.area, x.text) for x in data.framework.activities]
    found = compute_findings(answers, areas, activities, data.framework.scale, data.summary_settings)
    means = data.area_means().dropna(subset=["mean"])
    strengths, issues = [], []
    if len(means) >= 2:
        best = means.loc[means["mean"].idxmax()]
        worst = means.loc[means["mean"].idxmin()]
        strengths.append(f"Area {best['area']} ({best['name']}) is the strongest area, with an average score "
                         f"of {best['mean']:.1f}.")
        issues.append(f"Area {worst['area']} ({worst['name']}) is the weakest area, with an average score "
                      f"of {worst['mean']:.1f}.")
    top = data.summary_settings.top_n
    strengths += [f.text for f in found["strength"][:top]]
    issues += [f.text for f in found["issue"][:top]]
    return strengths, issues


def committee_paper(data: CommitteeData, settings: ReportSettings) -> Document:
    """The programme-wide paper for the period."""
    considered = data.considered()
    to_date = data.considered_to_date()
    re_reviews = data.re_reviews()
    n, total = len(considered), len(to_date)
    directorates_now = considered.groupby("directorate").size() if n else pd.Series(dtype=int)
    period = _period(data)
    committee = settings.committee or "[committee]"
    values = {"council": data.council, "review_group": data.review_group, "committee": committee}
    blocks: list = [Cover([
        ("From", settings.from_ or "[cabinet member and corporate director]"),
        ("To", committee + (f" – {day(data.meeting_date)}" if data.meeting_date else "")),
        ("Subject", settings.subject),
        ("Period", period),
        ("Classification", settings.marking or "Unrestricted"),
    ])]

    # Summary and recommendation
    blocks.append(Heading("Summary"))
    summary = (f"This report sets out the progress of the {data.review_group} from {period}. "
               f"In the period the group considered {plural(n, 'contract')}"
               + (f" from {plural(len(directorates_now), 'directorate')}" if n else "")
               + f", bringing the total considered to {total}.")
    cash = data.benefits[data.benefits["kind"] == CASHABLE]["amount_gbp"].sum() if len(data.benefits) else 0.0
    if cash:
        summary += f" Reviews in the period led to cashable savings of {money(cash)} a year."
    blocks.append(Para(summary))
    blocks.append(Heading("Recommendation(s)"))
    blocks.append(Para(f"The {committee} is asked to NOTE the report."))

    # 1 Introduction, 2 Approach
    blocks.append(Heading("1. Introduction"))
    blocks += _paragraphs([_fill(p, values) for p in data.standing.get("introduction", [])])
    blocks.append(Heading("2. Approach"))
    blocks += _paragraphs([_fill(p, values) for p in data.standing.get("approach", [])])
    blocks.append(Para(f"The framework ({data.framework.title}) has {plural(len(data.framework.areas), 'area')}:"))
    blocks.append(Bullets([f"{a.number}. {a.name}: {a.purpose}" for a in data.framework.areas]))
    if data.plan_weights:
        blocks.append(Para("Contracts are selected for review on these criteria, weighted as shown:"))
        blocks.append(Bullets([f"{label}: {share:.0f}%" for label, share in data.plan_weights.items()]))

    # 3 Progress
    blocks.append(Heading("3. Progress"))
    if n:
        blocks.append(Para(f"The group considered {plural(n, 'contract')} in the period and {total} in total. "
                           f"{plural(len(re_reviews), 'was a re-review', 'were re-reviews')}"
                           .replace(f"{len(re_reviews)} was", f"{len(re_reviews)} of them was")
                           .replace(f"{len(re_reviews)} were", f"{len(re_reviews)} of them were") + "."))
        blocks.append(_directorate_table(considered, to_date))
    else:
        blocks.append(Para(f"No contract's self-assessment was considered in the period; {total} have been "
                           "considered in total."))
    if data.upcoming:
        blocks.append(Para(f"{plural(len(data.upcoming), 'review is', 'reviews are')} planned for the next "
                           f"{UPCOMING_MONTHS} months (section 6)."))

    # 4 Findings
    blocks.append(Heading("4. Findings"))
    strengths, issues, source = _findings(data)
    if not strengths and not issues:
        blocks.append(Para("There are no findings for the period: no self-assessments were considered in it."))
    else:
        blocks.append(Para(f"Findings are drawn from {source}."))
        blocks.append(Heading("Strengths", 2))
        blocks.append(Bullets(strengths) if strengths else Para("No area stood out as a strength in the period."))
        blocks.append(Heading("Issues to address", 2))
        blocks.append(Bullets(issues) if issues else Para("No area stood out as an issue to address in the period."))
    blocks.append(Heading("Progress of re-reviewed contracts", 2))
    if len(re_reviews):
        better = int((re_reviews["now"] > re_reviews["before"]).sum())
        worse = int((re_reviews["now"] < re_reviews["before"]).sum())
        blocks.append(Para(f"{better} of {plural(len(re_reviews), 're-reviewed contract')} improved their "
                           f"overall score since their previous review, and {worse} declined."))
        shown = re_reviews.assign(change=re_reviews["now"] - re_reviews["before"])
        if len(shown) > RE_REVIEWS_LISTED:
            shown = shown.reindex(shown["change"].abs().sort_values(ascending=False).index).head(RE_REVIEWS_LISTED)
            blocks.append(Para(f"The {RE_REVIEWS_LISTED} largest changes (the appendix counts them all):"))
        blocks.append(Table(["Contract", "Directorate", "Before", "Now", "Change"],
                            [[f"{r.contract_id} {r.title}", r.directorate, f"{r.before:.2f} ({r.before_round})",
                              f"{r.now:.2f} ({r.round})", f"{r.change:+.2f}"]
                             for r in shown.itertuples()], widths_cm=[5.5, 4.0, 2.6, 2.6, 2.3],
                            right_align={2, 3, 4}))
    else:
        blocks.append(Para("No contract was re-reviewed in the period."))
    means = data.area_means()
    if means["mean"].notna().any():
        blocks.append(Image(area_chart(means, data.framework, f"Average maturity by area, {period}"),
                            caption=f"Average score by area over the {plural(n, 'contract')} considered in the period."))
    blocks += _benefits_blocks(data, settings)

    # 5 Feedback
    blocks.append(Heading("5. Feedback"))
    blocks += _feedback_blocks(data)

    # 6 Next steps
    blocks.append(Heading("6. Next steps"))
    blocks += _paragraphs([_fill(p, values) for p in data.standing.get("next steps", [])])
    if data.upcoming:
        blocks.append(Para(f"Reviews planned, from {data.upcoming_source}:"))
        blocks.append(Table(["Month", "Contract", "Directorate"],
                            [[f"{m:%B %Y}", f"{cid} {title}", d] for m, cid, title, d in data.upcoming],
                            widths_cm=[3.5, 8.0, 5.5]))
    else:
        blocks.append(Para("No reviews are planned yet for the coming months."))

    # 7-9
    blocks.append(Heading("7. Recommendation(s)"))
    blocks.append(Para(f"The {committee} is asked to NOTE the report; a further progress report will follow in "
                       "six months."))
    blocks.append(Heading("8. Background documents"))
    blocks.append(Para(f"{data.framework.title}" + (f" ({data.framework.based_on})" if data.framework.based_on else "")
                       + "."))
    blocks.append(Heading("9. Contact details"))
    contacts = [("Report author", settings.author, settings.author_contact),
                ("Relevant director", settings.director, settings.director_contact)]
    blocks.append(Bullets([f"{role}: {name or '[name]'}" + (f", {how}" if how else "") for role, name, how in contacts]))

    # Appendix
    blocks.append(PageBreak())
    blocks.append(Heading("Appendix: the numbers"))
    blocks.append(Table(["Figure", "Value"], _numbers(data, considered, to_date, re_reviews), right_align={1}))
    blocks.append(Table(["Area", "Average score in the period"],
                        [[f"{r.area} {r.name}", "no returns" if r.mean is None or r.mean != r.mean else f"{r.mean:.2f}"]
                         for r in means.itertuples()], right_align={1}))
    return Document(title=settings.subject, blocks=blocks, council=data.council, marking=settings.marking)


def _directorate_table(considered: pd.DataFrame, to_date: pd.DataFrame) -> Table:
    now = considered.groupby("directorate").size()
    ever = to_date.groupby("directorate").size()
    names = sorted(set(now.index) | set(ever.index))
    rows = [[d, str(int(now.get(d, 0))), str(int(ever.get(d, 0)))] for d in names]
    rows.append(["Total", str(int(now.sum())), str(int(ever.sum()))])
    return Table(["Directorate", "In the period", "In total"], rows, widths_cm=[9.0, 4.0, 4.0], right_align={1, 2},
                 total_row=True)


def _benefits_blocks(data: CommitteeData, settings: ReportSettings) -> list:
    blocks: list = [Heading("Benefits", 2)]
    b = data.benefits
    if b.empty:
        return blocks + [Para("No benefits were recorded in the period.")]
    cash = b[b["kind"] == CASHABLE]
    once = b[b["kind"] == ONE_OFF]
    other = b[b["kind"] == NON_CASHABLE]
    parts = []
    if len(cash):
        parts.append(f"cashable savings of {money(cash['amount_gbp'].sum())} a year")
    if len(once):
        parts.append(f"one-off savings of {money(once['amount_gbp'].sum())}")
    if len(other):
        parts.append(plural(len(other), "non-cashable benefit"))
    blocks.append(Para(f"{plural(len(b), 'benefit was', 'benefits were')} recorded in the period: "
                       + "; ".join(parts) + "."))
    named = []
    for r in b.itertuples():
        big = r.amount_gbp is not None and r.amount_gbp == r.amount_gbp and r.amount_gbp >= settings.benefit_threshold_gbp
        if not big:
            continue
        text = f"{money(r.amount_gbp)}{' a year' if r.kind == CASHABLE else ' one-off'} on {r.contract_id}"
        if isinstance(r.title, str) and r.title:
            text += f" ({r.title})"
        text += f": {r.description}"
        value = r.annual_value_gbp
        if r.kind == CASHABLE and value == value and value:
            text += f", {100 * r.amount_gbp / value:.1f}% of the contract's annual value"
        if r.caveat:
            text += f". Caveat: {r.caveat}"
        named.append(text + ("" if text.endswith(".") else "."))
    if named:
        blocks.append(Para(f"Benefits of {money(settings.benefit_threshold_gbp)} or more:"))
        blocks.append(Bullets(named))
    return blocks


def _feedback_blocks(data: CommitteeData) -> list:
    f = data.feedback
    if f is None or f.empty:
        return [Para("No feedback from contract owners on the review was received in the period.")]
    blocks: list = []
    questions = [c for c in ("useful", "support", "feedback_helped", "changed") if c in f.columns]
    labels = {"useful": "How useful the review was", "support": "Support before the meeting",
              "feedback_helped": "The feedback afterwards", "changed": "What changed as a result"}
    if questions:
        rows = [[labels[q], f"{pd.to_numeric(f[q], errors='coerce').mean():.1f} of 5"] for q in questions]
        blocks.append(Para(f"{plural(len(f), 'contract owner')} gave feedback on the review (scores from 1 to 5):"))
        blocks.append(Table(["Question", "Average"], rows, right_align={1}))
    quotes = [str(c).strip() for c, ok in zip(f.get("comments", []), f.get("consent", [])) if ok is True and str(c).strip()]
    if quotes:
        blocks.append(Para("Owners who agreed to be quoted said:"))
        blocks += [Para(f"\u201c{q}\u201d", style="quote") for q in quotes]
    else:
        blocks.append(Para("No owner gave permission to quote their comments."))
    return blocks


def _numbers(data, considered, to_date, re_reviews) -> list[list[str]]:
    b = data.benefits
    total = lambda kind: b[b["kind"] == kind]["amount_gbp"].sum() if len(b) else 0.0  # noqa: E731
    return [
        ["Contracts considered in the period", str(len(considered))],
        ["Contracts considered in total", str(len(to_date))],
        ["Re-reviews in the period", str(len(re_reviews))],
        ["Re-reviewed contracts that improved their overall score",
         str(int((re_reviews["now"] > re_reviews["before"]).sum()) if len(re_reviews) else 0)],
        ["Directorates with a contract considered in the period",
         str(considered["directorate"].nunique() if len(considered) else 0)],
        ["Cashable savings a year", f"£{total(CASHABLE):,.0f}"],
        ["One-off savings", f"£{total(ONE_OFF):,.0f}"],
        ["Non-cashable benefits", str(int((b["kind"] == NON_CASHABLE).sum()) if len(b) else 0)],
        ["Reviews planned in the next six months", str(len(data.upcoming))],
    ]


def contract_paper(data: CommitteeData, settings: ReportSettings, contract_id: str) -> Document:
    """The shorter paper on one contract: its review history, ratings over time, actions, benefits."""
    r = data.returns()
    history = r[r["contract_id"] == contract_id]
    if history.empty:
        known = ", ".join(sorted(set(r["contract_id"]))[:10]) or "none yet"
        raise ReportError(f"{contract_id} has no accepted self-assessment in the register, so there is nothing to "
                          f"report on it (contracts with one: {known})")
    last = history.iloc[-1]
    blocks: list = [Cover([("To", settings.committee or "[committee]"), ("Subject", f"Contract review: {contract_id} "
                                                                         f"{last['title']}"),
                           ("Classification", settings.marking or "Unrestricted")])]
    c = data.contracts[data.contracts["contract_id"] == contract_id]
    if len(c):
        row = c.iloc[0]
        blocks.append(Heading("The contract"))
        blocks.append(Table(["", ""], [["Title", str(row["title"])], ["Supplier", str(row["supplier"])],
                                       ["Directorate", str(row["directorate"])], ["Owner", str(row["owner_name"])],
                                       ["Annual value", money(float(row["annual_value_gbp"] or 0))],
                                       ["Risk / complexity", f"{row['risk']} / {row['complexity']}"]]))
    blocks.append(Heading("Review history"))
    blocks.append(Table(["Round", "Received", "Overall score"],
                        [[h.round, f"{h.received:%d/%m/%Y}", f"{h.overall:.2f}"] for h in history.itertuples()],
                        right_align={2}))
    a = data.answers[data.answers["contract_id"] == contract_id]
    rounds = list(dict.fromkeys(history["round"]))
    blocks.append(Heading("Ratings by area over time"))
    rows = []
    for area in data.framework.areas:
        cells = [f"{area.number} {area.name}"]
        for rnd in rounds:
            s = a[(a["round"] == rnd) & (a["area"] == area.number)]["score"].mean()
            cells.append("n/a" if s != s else f"{s:.2f}")
        rows.append(cells)
    blocks.append(Table(["Area"] + rounds, rows, right_align=set(range(1, len(rounds) + 1))))
    latest = a[a["round"] == last["round"]]
    actions = latest[latest["action"].fillna("").astype(str).str.strip() != ""]
    blocks.append(Heading("Improvement actions"))
    if len(actions):
        blocks.append(Table(["Activity", "Action", "Owner", "Target date"],
                            [[x.ref, x.action, x.action_owner or "",
                              "" if pd.isna(x.target_date) else f"{x.target_date:%d/%m/%Y}"] for x in actions.itertuples()]))
    else:
        blocks.append(Para("The latest self-assessment lists no improvement actions."))
    blocks.append(Heading("Benefits"))
    b = data.benefits[data.benefits["contract_id"] == contract_id] if len(data.benefits) else data.benefits
    if len(b):
        blocks.append(Bullets([f"{money(x.amount_gbp) if x.amount_gbp == x.amount_gbp and x.amount_gbp is not None else 'Non-cashable'}"
                               f" ({x.kind}) on {x.benefit_date:%d/%m/%Y}: {x.description}"
                               + (f". Caveat: {x.caveat}" if x.caveat else "") for x in b.itertuples()]))
    else:
        blocks.append(Para("No benefits are recorded for this contract in the period."))
    return Document(title=f"{contract_id}: contract management review", blocks=blocks, council=data.council,
                    marking=settings.marking)


def write_report(ws, start: dt.date, end: dt.date, out: Path, *, contract_id: str | None = None,
                 meeting_date: dt.date | None = None, today: dt.date | None = None) -> tuple[Document, ReportSettings]:
    """Draft the paper into ``out`` (.docx); returns the document and the settings used."""
    from ..kit.document import write_docx

    settings = ReportSettings.from_config(ws.config.section("report"), ws.config.section("council"))
    data = load_committee_data(ws, start, end, today=today, meeting_date=meeting_date, contract_id=contract_id)
    doc = contract_paper(data, settings, contract_id) if contract_id else committee_paper(data, settings)
    write_docx(doc, out)
    return doc, settings
