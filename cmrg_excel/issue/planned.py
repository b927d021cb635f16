"""The review plan of a workspace: making and saving it (the stage behind ``cmrg plan``), and
which contracts a month's plan holds (behind ``cmrg generate --planned``).

The plan is the workbook ``outbox/review-plan.xlsx`` as last saved when it exists (the group
may have moved reviews between months), otherwise the plan ``cmrg plan`` would make now.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .. import register as reg
from ..core.contracts import ContractProblem, read_contracts
from .plan import Plan, PlanError, PlanSettings, default_start, make_plan, month_start
from .plan_workbook import PLAN_WORKBOOK, SavedPlan, planned_ids, read_plan_schedule, save_plan_workbook, schedule_entries


def register_last_reviews(ws) -> dict[str, dt.date]:
    """Contract -> date of its latest accepted return in the register (empty without a register)."""
    if not ws.register_path.exists():
        return {}
    conn = reg.open_register(ws, readonly=True)
    try:
        subs = reg.submissions_frame(conn)
    finally:
        conn.close()
    out: dict[str, dt.date] = {}
    if subs.empty:
        return out
    for row in subs[(subs["outcome"] == "accepted") & (subs["status"] != "withdrawn")].itertuples(index=False):
        try:
            received = dt.date.fromisoformat(str(row.received_at)[:10])
        except ValueError:
            continue
        if row.contract_id and (row.contract_id not in out or received > out[row.contract_id]):
            out[row.contract_id] = received
    return out


def financial_year(month: dt.date) -> str:
    """The UK financial year a month falls in, as a round name: 2026-27 for December 2026 or March 2027."""
    year = month.year if month.month >= 4 else month.year - 1
    return f"{year}-{(year + 1) % 100:02d}"


def plan_workbook_path(ws):
    """Where the workspace's plan workbook is: ``outbox/review-plan.xlsx``."""
    return ws.outbox / PLAN_WORKBOOK


@dataclass(frozen=True)
class PlannedMonth:
    """The contracts the workspace's plan schedules in one month, and where that plan came from."""

    month: dt.date
    contract_ids: list[str]
    source: str  # e.g. "outbox/review-plan.xlsx, Schedule sheet as last saved"


def planned_contracts(ws, month: dt.date, plan_from: dt.date | None = None,
                      today: dt.date | None = None) -> PlannedMonth:
    """The contract IDs the current plan schedules in ``month``.

    The plan is outbox/review-plan.xlsx when it exists (its Schedule sheet as last saved);
    otherwise it is recomputed as 'cmrg plan --from PLAN_FROM' would make it (default: from
    the first day of next month). Raises :class:`PlanError` when ``plan_from`` is given but the
    workbook exists, when nothing is planned that month, or when a planned contract is not on
    the contract list.
    """
    path = plan_workbook_path(ws)
    name = ws.rel(path)
    clist = read_contracts(ws.contracts_path)
    if path.exists():
        if plan_from is not None:
            raise PlanError(
                f"--plan-from is only for when there is no plan workbook, and {name} exists: it is the "
                "plan used. To plan from another month, run 'cmrg plan --from DATE' (add --replace if you have "
                "changed the workbook: it is kept under a dated name), or move the workbook out of outbox/.")
        entries = read_plan_schedule(path, name)
        where = name
        source = f"{name}, Schedule sheet as last saved"
        start = None
    else:
        settings = PlanSettings.from_section(ws.config.section("plan"))
        start = plan_from or default_start(today or dt.date.today())
        entries = schedule_entries(make_plan(clist.contracts, settings, start, register_last_reviews(ws),
                                             today=today or dt.date.today()))
        where = "the recomputed plan"
        source = (f"recomputed from {ws.rel(ws.contracts_path)} and cmrg.toml, starting {start:%d/%m/%Y}, "
                  f"as there is no {name}")
    ids = planned_ids(entries, month)
    if not ids:
        months = sorted({e.month for e in entries})
        if not months:
            has = "it schedules no reviews at all"
        elif len(months) == 1:
            has = f"it schedules reviews in {months[0]:%B %Y} only"
        else:
            has = f"it schedules reviews from {months[0]:%B %Y} to {months[-1]:%B %Y}"
        hint = ""
        if start is not None and month < month_start(start):
            hint = f"; to plan from {month:%B %Y}, add --plan-from {month:%d/%m/%Y}"
        raise PlanError(f"no contracts are planned for {month:%B %Y}, so nothing was generated: the plan is "
                        f"{source}, and {has}{hint}")
    known = {c.contract_id.casefold() for c in clist.contracts}
    missing = [cid for cid in ids if cid.casefold() not in known]
    if missing:
        bad_ids = {str(p.value).casefold() for p in clist.problems if p.column == "contract_id"}
        hint = " (its row has problems)" if any(m.casefold() in bad_ids for m in missing) else ""
        raise PlanError(f"planned for {month:%B %Y} in {where} but not on the contract list{hint}: "
                        f"{', '.join(missing)}. Nothing was generated: change the plan, or put the contract(s) back "
                        f"on {ws.rel(ws.contracts_path)}")
    return PlannedMonth(month, ids, source)


@dataclass(frozen=True)
class ProposedPlan:
    """A plan made for a workspace and saved as its plan workbook."""

    plan: Plan
    saved: SavedPlan
    start: dt.date
    problems: list[ContractProblem]  # rows of the contract list left out (with skip_invalid)
    bad_rows: int


def propose_plan(ws, start: dt.date | None = None, *, months: int | None = None, per_month: int | None = None,
                 replace: bool = False, skip_invalid: bool = False, today: dt.date | None = None) -> ProposedPlan:
    """Score the workspace's contracts, schedule them from ``start`` (default: the first day of
    next month) and save outbox/review-plan.xlsx without losing the group's edits
    (:func:`~.plan_workbook.save_plan_workbook`). ``months`` and ``per_month`` override the
    [plan] settings. The contract list is checked first, as for generating: a row with a
    problem stops the plan with every problem listed, unless ``skip_invalid`` (then the good
    rows are planned and the bad ones returned in ``problems``). Raises :class:`PlanError`
    (bad settings, a bad contract list, no contracts, a changed workbook)."""
    settings = PlanSettings.from_section(ws.config.section("plan"), months=months, per_month=per_month)
    today = today or dt.date.today()
    start = start or default_start(today)
    clist = read_contracts(ws.contracts_path)
    if clist.problems and not skip_invalid:
        raise PlanError(clist.problems_message("planned"))
    try:
        plan = make_plan(clist.contracts, settings, start, register_last_reviews(ws), today=today)
    except PlanError as exc:
        raise PlanError(f"{ws.rel(ws.contracts_path)}: {exc}") from None
    target = plan_workbook_path(ws)
    with ws.lock("plan"):  # looking at the workbook there and replacing it is one step
        saved = save_plan_workbook(plan, target, ws.config.council_name, ws.config.review_group,
                                   replace=replace, name=ws.rel(target))
    return ProposedPlan(plan, saved, start, list(clist.problems), len(clist.bad_rows))
