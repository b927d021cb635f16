"""The meeting pack: what members read before they meet a contract's owner.

:func:`meeting_pack_data` gathers, per contract on the agenda, plain data from the register:
the contract's facts, its ratings by area beside the council's average and its previous
review, its weakest activities, high ratings with thin evidence, Not applicable claims, big
changes since the last round, improvement actions with their progress, and suggested
challenge questions. :func:`meeting_pack` lays it out as a document: one agenda page, then a
section per contract. The questions come from two places: from the data (each rule below
fires exactly when its condition holds) and from the framework, where every activity carries
two or three questions a member could ask.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

import pandas as pd

from ..core.framework import Framework
from ..kit.document import Bullets, Cover, Document, Heading, Image, PageBreak, Para, Table

WEAKEST = 5                 # activities listed as the weakest
FAR_ABOVE = 1.0             # an area's score this many levels above the council's average earns a question
JUMP = 2                    # a rise of this many levels since the last review earns a question
FRAMEWORK_QUESTIONS_FOR = 3  # the weakest activities whose framework questions are suggested


@dataclass
class Question:
    text: str
    why: str                 # the fact that prompted it, or "framework"
    rule: str                # high-no-evidence, far-above-average, jump, overdue-action, framework


@dataclass
class ContractPack:
    contract_id: str
    facts: list[tuple[str, str]]
    round: str
    previous_round: str | None
    areas: pd.DataFrame                       # area, name, score, council, previous
    weakest: list[tuple[str, str, str]]       # ref, rating, activity text
    thin_evidence: list[tuple[str, str, str]]  # ref, rating, evidence as given
    not_applicable: list[tuple[str, str]]     # ref, reason
    changes: list[tuple[str, str, str]]       # ref, before, now
    actions: list[tuple[str, str, str, str, str]]  # ref, action, owner, target, progress
    questions: list[Question] = field(default_factory=list)


@dataclass
class MeetingPack:
    date: dt.date
    council: str
    review_group: str
    marking: str
    contracts: list[ContractPack]
    missing: list[tuple[str, str]]            # (contract ID, why no section)


def _good(fw: Framework) -> int:
    """The score of the level after the middle of the scale ("Good" on the NAO scale)."""
    scores = sorted(lv.score for lv in fw.scale.levels)
    return scores[len(scores) // 2]


def _high(fw: Framework) -> int:
    """Ratings at or above this score are the scale's top levels ("Better", "Best")."""
    scores = sorted(lv.score for lv in fw.scale.levels)
    return scores[len(scores) // 2 + 1] if len(scores) > 2 else scores[-1]


def _label(fw: Framework, score: float) -> str:
    for lv in fw.scale.levels:
        if lv.score == score:
            return lv.label
    return f"{score:g}"


def area_scores(answers: pd.DataFrame) -> pd.DataFrame:
    """Each return's mean score per area (register.area_scores_frame's shape) from answers."""
    return (answers.groupby(["contract_id", "round", "area"], sort=False)
            .agg(score=("score", "mean"), received_at=("received_at", "first")).reset_index())


def contract_pack(cid: str, answers: pd.DataFrame, contract: dict, fw: Framework, meeting: dt.date,
                  evidence_min_chars: int = 20, areas_all: pd.DataFrame | None = None) -> ContractPack | str:
    """One contract's section as plain data, or why it cannot have one.

    ``answers`` must hold at least this contract's answers; ``areas_all`` is every return's
    mean per area (for the council's averages), computed from ``answers`` when not given."""
    mine = answers[answers["contract_id"] == cid]
    if mine.empty:
        return "no accepted self-assessment in the register yet, so there is nothing for members to read"
    order = list(dict.fromkeys(mine.sort_values("received_at")["round"]))
    current, previous = order[-1], (order[-2] if len(order) > 1 else None)
    now = mine[mine["round"] == current]
    before = mine[mine["round"] == previous] if previous else mine.iloc[0:0]
    areas_all = area_scores(answers) if areas_all is None else areas_all
    council = areas_all[areas_all["round"] == current].groupby("area")["score"].mean()
    area_rows = []
    for area in fw.areas:
        score = now[now["area"] == area.number]["score"].mean()
        prev = before[before["area"] == area.number]["score"].mean() if len(before) else float("nan")
        area_rows.append({"area": area.number, "name": area.name, "score": score,
                          "council": council.get(area.number, float("nan")), "previous": prev})
    areas = pd.DataFrame(area_rows)
    text_of = {a.ref: a.text for a in fw.activities}
    rated = now[~now["not_applicable"].astype(bool)].copy()
    rated["order"] = [tuple(int(x) for x in r.split(".")) for r in rated["ref"]]
    weakest_rows = rated.sort_values(["score", "order"]).head(WEAKEST)
    weakest = [(r.ref, r.rating, text_of.get(r.ref, "")) for r in weakest_rows.itertuples()]
    high = _high(fw)
    thin = rated[(rated["score"] >= high)
                 & (rated["evidence"].fillna("").astype(str).str.strip().str.len() < evidence_min_chars)]
    thin_evidence = [(r.ref, r.rating, str(r.evidence or "").strip()) for r in thin.sort_values("order").itertuples()]
    na = now[now["not_applicable"].astype(bool)]
    not_applicable = [(r.ref, str(r.evidence or "").strip()) for r in na.itertuples()]
    changes = []
    if len(before):
        # counted in levels, not points: scales may have gaps (0/2/4) or run 0 to 100
        rank = {lv.label: i for i, lv in enumerate(fw.scale.levels)}
        prev_labels = dict(zip(before["ref"], before["rating"]))
        for r in rated.sort_values("order").itertuples():
            old, new = rank.get(prev_labels.get(r.ref)), rank.get(r.rating)
            if old is not None and new is not None and abs(new - old) >= JUMP:
                changes.append((r.ref, prev_labels[r.ref], r.rating))
    actions = []
    for r in now.sort_values("ref").itertuples():
        action = str(r.action or "").strip()
        if not action:
            continue
        due = r.target_date.date() if isinstance(r.target_date, pd.Timestamp) and not pd.isna(r.target_date) else None
        progress = "overdue" if due and due < meeting else ("due" if due else "no date")
        actions.append((r.ref, action, str(r.action_owner or ""), f"{due:%d/%m/%Y}" if due else "", progress))
    pack = ContractPack(
        contract_id=cid, facts=_facts(contract, now), round=current, previous_round=previous, areas=areas,
        weakest=weakest, thin_evidence=thin_evidence, not_applicable=not_applicable, changes=changes,
        actions=actions,
    )
    pack.questions = challenge_questions(pack, fw)
    return pack


def _facts(contract: dict, now: pd.DataFrame) -> list[tuple[str, str]]:
    def money(v) -> str:
        try:
            return f"£{float(v):,.0f}"
        except (TypeError, ValueError):
            return ""

    first = now.iloc[0]
    return [
        ("Title", str(contract.get("title") or first["title"])),
        ("Supplier", str(contract.get("supplier") or first["supplier"])),
        ("Directorate", str(contract.get("directorate") or first["directorate"])),
        ("Contract owner", str(contract.get("owner_name") or first["owner_name"])),
        ("Annual value", money(contract.get("annual_value_gbp"))),
        ("Total value", money(contract.get("total_value_gbp"))),
        ("Risk / complexity", f"{contract.get('risk') or first['risk']} / {contract.get('complexity') or first['complexity']}"),
        ("Self-assessment", f"round {first['round']}, signed by {first['attested_name']} on "
                            f"{pd.Timestamp(first['attested_on']).strftime('%d/%m/%Y') if first['attested_on'] else 'n/a'}"),
    ]


def challenge_questions(pack: ContractPack, fw: Framework) -> list[Question]:
    """Questions drawn from the data, then the framework's questions for the weakest activities."""
    out: list[Question] = []
    for ref, rating, evidence in pack.thin_evidence:
        shown = f"'{evidence}'" if evidence else "no evidence"
        out.append(Question(f"Activity {ref} is rated {rating} with {shown}: what would you show us to support "
                            "that rating?", f"{ref} rated {rating}, evidence {shown}", "high-no-evidence"))
    for row in pack.areas.itertuples():
        if (row.score == row.score and row.council == row.council
                and row.score - row.council >= FAR_ABOVE * fw.scale.step):
            out.append(Question(
                f"Your ratings for area {row.area} ({row.name}) average {row.score:.1f}, against {row.council:.1f} "
                "across the council: what do you do differently, and could other contract managers learn from it?",
                f"area {row.area}: {row.score:.1f} against the council's {row.council:.1f}", "far-above-average"))
    for ref, before, now in pack.changes:
        out.append(Question(f"Activity {ref} moved from {before} to {now} since round {pack.previous_round}: "
                            "what changed, and what is the evidence?", f"{ref}: {before} to {now}", "jump"))
    for ref, action, owner, due, progress in pack.actions:
        if progress == "overdue":
            out.append(Question(f"The improvement action for {ref}, '{action}'" + (f" ({owner})" if owner else "")
                                + f", was due on {due}: where has it got to?", f"{ref} action due {due}", "overdue-action"))
    activities = {a.ref: a for a in fw.activities}
    for ref, _, _ in pack.weakest[:FRAMEWORK_QUESTIONS_FOR]:
        act = activities.get(ref)
        for q in act.questions if act else ():
            out.append(Question(q, f"framework, activity {ref}", "framework"))
    return out


def meeting_pack_data(ws, date: dt.date, contract_ids: list[str]) -> MeetingPack:
    """Read the register and build the pack's plain data for the agenda ``contract_ids``."""
    from .. import register as reg

    conn = reg.open_register(ws)
    try:
        answers = reg.answers_frame(conn, contracts=list(contract_ids))
        areas_all = reg.area_scores_frame(conn)
        contracts = {r["contract_id"]: r for r in reg.contracts_frame(conn).to_dict("records")}
    finally:
        conn.close()
    fw = ws.framework()
    minimum = ws.config.section("summary").get("evidence_min_chars", 20)
    minimum = minimum if isinstance(minimum, int) and not isinstance(minimum, bool) else 20
    packs, missing = [], []
    for cid in contract_ids:
        found = contract_pack(cid, answers, contracts.get(cid, {}), fw, date, minimum, areas_all)
        if isinstance(found, str):
            missing.append((cid, found if cid in contracts else "not a contract in the register"))
        else:
            packs.append(found)
    marking = ws.config.section("council").get("marking", "")
    return MeetingPack(date, ws.config.council_name, ws.config.review_group,
                       marking if isinstance(marking, str) else "", packs, missing)


def area_chart(pack: ContractPack, fw: Framework) -> bytes:
    """This contract's score per area beside the council's average and its previous review (PNG)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # not pyplot: no global state, and a faster import

    areas = pack.areas
    y = list(range(len(areas)))[::-1]
    series = [("This contract", areas["score"], "#1F3A5F"), ("Council average", areas["council"], "#8FAADC")]
    if pack.previous_round:
        series.append((f"Previous review ({pack.previous_round})", areas["previous"], "#BFBFBF"))
    height = 0.8 / len(series)
    fig = Figure(figsize=(7.5, 0.55 * len(areas) + 1.4), dpi=150)
    ax = fig.add_subplot()
    for k, (label, values, colour) in enumerate(series):
        ax.barh([v + (len(series) / 2 - k - 0.5) * height for v in y], values.fillna(0), height=height,
                color=colour, label=label)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{a} {n}" for a, n in zip(areas["area"], areas["name"])], fontsize=8)
    scores = [lv.score for lv in fw.scale.levels]
    ax.set_xlim(min(scores), max(scores))
    ax.set_xticks(scores)
    ax.set_xticklabels([f"{lv.score}\n{lv.label.split(' ', 1)[-1]}" for lv in fw.scale.levels], fontsize=8)
    ax.legend(fontsize=8, loc="lower right", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    out = io.BytesIO()
    FigureCanvasAgg(fig).print_png(out)
    return out.getvalue()


def meeting_pack(pack: MeetingPack, fw: Framework) -> Document:
    """The pack as a document: an agenda page, then one section per contract."""
    day = f"{pack.date.day} {pack.date:%B %Y}"
    blocks: list = [Cover([("Meeting", f"{pack.review_group}"), ("Date", day),
                           ("Contracts", str(len(pack.contracts)))])]
    blocks.append(Heading("Agenda"))
    items = ["Welcome and apologies"]
    items += [f"{c.contract_id}: {dict(c.facts)['Title']} ({dict(c.facts)['Directorate']}); owner "
              f"{dict(c.facts)['Contract owner']}" for c in pack.contracts]
    items += ["The group's view, recommendations and good practice for each contract", "Any other business"]
    blocks.append(Bullets(items, numbered=True))
    if pack.missing:
        blocks.append(Para("Not in this pack: " + "; ".join(f"{cid} ({why})" for cid, why in pack.missing) + ".",
                           style="note"))
    blocks.append(Para("Each section gives the contract's facts, its self-assessment against the council's average, "
                       "what to look at, and suggested questions. Ratings are the owner's own; the group does not "
                       "verify the evidence. Scores: " + ", ".join(lv.label for lv in fw.scale.levels) + ".",
                       style="note"))
    for c in pack.contracts:
        blocks.append(PageBreak())
        blocks.append(Heading(f"{c.contract_id}: {dict(c.facts)['Title']}"))
        blocks.append(Table(["Fact", "Detail"], [[k, v] for k, v in c.facts], widths_cm=[4.0, 13.0]))
        blocks.append(Heading("Ratings by area", 2))
        rows = []
        for r in c.areas.itertuples():
            rows.append([f"{r.area} {r.name}", _num(r.score), _num(r.council)]
                        + ([_num(r.previous)] if c.previous_round else []))
        cols = ["Area", "This contract", "Council average"] + ([f"Previous ({c.previous_round})"] if c.previous_round else [])
        blocks.append(Table(cols, rows, right_align=set(range(1, len(cols)))))
        blocks.append(Image(area_chart(c, fw), width_cm=15,
                            caption=f"{c.contract_id}: average score by area, round {c.round}."))
        blocks.append(Heading("The weakest activities", 2))
        blocks.append(Table(["Activity", "Rating", "What it asks"], [list(w) for w in c.weakest],
                            widths_cm=[2.0, 3.5, 11.5]) if c.weakest else Para("Every activity is Not applicable."))
        blocks.append(Heading("High ratings with thin or no evidence", 2))
        blocks.append(Table(["Activity", "Rating", "Evidence given"],
                            [[r, g, e or "(none)"] for r, g, e in c.thin_evidence], widths_cm=[2.0, 3.5, 11.5])
                      if c.thin_evidence else Para("None: every high rating comes with evidence."))
        blocks.append(Heading("Not applicable, and why", 2))
        blocks.append(Table(["Activity", "Reason given"], [list(x) for x in c.not_applicable], widths_cm=[2.0, 15.0])
                      if c.not_applicable else Para("No activity is claimed as not applicable."))
        blocks.append(Heading("Big changes since the last review", 2))
        if c.previous_round is None:
            blocks.append(Para("This is the contract's first review."))
        elif c.changes:
            blocks.append(Table(["Activity", f"Round {c.previous_round}", f"Round {c.round}"], [list(x) for x in c.changes]))
        else:
            blocks.append(Para(f"No rating moved by {JUMP} levels or more since round {c.previous_round}."))
        blocks.append(Heading("Improvement actions", 2))
        blocks.append(Table(["Activity", "Action", "Owner", "Target", "Progress"], [list(a) for a in c.actions],
                            widths_cm=[1.8, 8.0, 3.2, 2.2, 1.8])
                      if c.actions else Para("The owner lists no improvement actions."))
        blocks.append(Para("Recommendations from earlier reviews: none recorded for this contract.", style="note"))
        blocks.append(Heading("Suggested challenge questions", 2))
        if c.questions:
            blocks.append(Bullets([q.text for q in c.questions], numbered=True))
        else:
            blocks.append(Para("No questions suggested."))
    return Document(title=f"{pack.review_group}: meeting pack, {day}", blocks=blocks, council=pack.council,
                    marking=pack.marking)


def _num(value: float) -> str:
    return "n/a" if value is None or value != value else f"{value:.2f}"
