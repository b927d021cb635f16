"""cmrg plan."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..core.contracts import parse_date, read_contracts
from ..core.settings import DATE_MAX, DATE_MIN
from ..issue.plan import PLAN_WORKBOOK, PlanError, PlanSettings, add_months, default_start, make_plan, month_start, parse_month, planned_ids, read_plan_schedule, register_last_reviews, save_plan_workbook, schedule_entries
from ..core.terminal import clip
from ..core.workspace import Workspace
from .base import EXIT_INPUT, command, fail, friendly_errors, load, rel, table, workspace_option

SHOW_MONTHS = 3


def date_option(ctx, param, value):
    """A click callback: a UK (dd/mm/yyyy) or ISO date, or a clear usage error."""
    if value is None:
        return None
    try:
        day = parse_date(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date: write dd/mm/yyyy, e.g. 01/01/2027") from None
    if not DATE_MIN <= day <= DATE_MAX:
        raise click.BadParameter(f"{value!r} is outside the years a review programme can use: give a date from "
                                 f"{DATE_MIN:%d/%m/%Y} to {DATE_MAX:%d/%m/%Y}")
    return day


def month_option(ctx, param, value):
    """A click callback: a month (12/2026, 2026-12, Dec 2026, December 2026), or a clear usage error."""
    if value is None:
        return None
    try:
        month = parse_month(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if not DATE_MIN <= month <= DATE_MAX:
        raise click.BadParameter(f"{value!r} is outside the years a review programme can use: give a month from "
                                 f"{DATE_MIN:%m/%Y} to {DATE_MAX:%m/%Y}")
    return month


@command("plan")
@click.option("--from", "start", callback=date_option, metavar="DATE",
              help="Start the plan in the month of this date (dd/mm/yyyy). Default: the first day of next "
                   "month. Re-commissioning and end dates are measured from this date.")
@click.option("--months", type=click.IntRange(1, 60), metavar="N",
              help="How many months to plan. Default: months under [plan] in cmrg.toml (12 unless "
                   "changed).")
@click.option("--per-month", type=click.IntRange(1, 100), metavar="K",
              help="Reviews each month. Default: per_month under [plan] in cmrg.toml (3 unless "
                   "changed).")
@click.option("--skip-invalid", is_flag=True,
              help="Plan the good rows of the contract list and list the bad ones, instead of stopping (as "
                   "'cmrg generate --skip-invalid').")
@click.option("--replace", is_flag=True,
              help="Write a new plan even though the plan workbook has been changed since cmrg wrote it; "
                   "the changed one is kept beside it under a dated name.")
@workspace_option
@friendly_errors
def plan_cmd(start: dt.date | None, months: int | None, per_month: int | None, skip_invalid: bool, replace: bool,
             workspace: Path | None) -> None:
    """Propose which contracts to review, month by month.

    Every contract on the list gets a score out of 100 from six criteria: value (annual
    and total), risk, complexity, audit synergy, timing (a re-commissioning, extension or
    end date coming up) and time since the last review. The weights are the [plan]
    settings in cmrg.toml. The schedule puts contracts due for re-commissioning ahead of
    that date, then the highest scores, and spreads each month across directorates.

    Writes outbox/review-plan.xlsx: the Schedule with a reason for each choice, every
    contract's Scores with each criterion's points in its own column, and the Method.
    The contract list is checked first, as by 'cmrg generate': if any row has a
    problem, every problem is listed with its row and column and nothing is planned
    (unless --skip-invalid, which plans the good rows and lists the bad). Nothing else
    changes, so run it as often as you like to try other settings.

    Move reviews between months on the Schedule sheet as the group decides, then issue
    each month's with 'cmrg generate --round ROUND --planned MONTH', which reads it.

    Your edits are never lost: a new plan replaces the workbook only while it is just as
    cmrg wrote it. Once it has been changed (or if cmrg cannot tell, e.g. it was copied
    in), plan stops and changes nothing; with --replace it keeps the changed workbook
    beside it under a dated name, e.g. 'review-plan (saved 27-11-2026 1530).xlsx', and
    writes the new one. If the workbook is open in Excel, close it first.

    \b
    Examples:
      cmrg plan
      cmrg plan --from 01/04/2027 --months 6 --per-month 4
      cmrg plan --from 01/04/2027 --replace
    """
    ws = load(workspace)
    try:
        settings = PlanSettings.from_section(ws.config.section("plan"), months=months, per_month=per_month)
    except PlanError as exc:
        fail(str(exc), EXIT_INPUT)
        return
    start = start or default_start(dt.date.today())
    clist = read_contracts(ws.contracts_path)
    if clist.problems and not skip_invalid:
        fail(clist.problems_message("planned"), EXIT_INPUT)
    try:
        plan = make_plan(clist.contracts, settings, start, register_last_reviews(ws), today=dt.date.today())
    except PlanError as exc:
        fail(f"{rel(ws, ws.contracts_path)}: {exc}", EXIT_INPUT)
        return
    target = ws.outbox / PLAN_WORKBOOK
    try:
        with ws.lock("plan"):  # looking at the workbook there and replacing it is one step
            saved = save_plan_workbook(plan, target, ws.config.council_name, ws.config.review_group,
                                       replace=replace, name=rel(ws, target))
    except PlanError as exc:
        fail(str(exc), EXIT_INPUT)
        return
    path = saved.path

    shown = [r for r in plan.reviews if r.month < add_months(month_start(start), SHOW_MONTHS)]
    rows = [[f"{r.month:%b %Y}", r.contract_id, clip(r.directorate, 28), f"{r.score:.0f}", clip(r.reason, 70)]
            for r in shown]
    click.echo(f"Review plan: {len(plan.reviews)} of {len(plan.scores)} contracts over {settings.months} months "
               f"from {start:%d/%m/%Y}, {settings.per_month} a month")
    click.echo(table(rows, ["Month", "Contract", "Directorate", "Score", "Why"]))
    if len(plan.reviews) > len(shown):
        click.echo(f"... and {len(plan.reviews) - len(shown)} more in later months")
    if plan.unscheduled:
        click.echo(f"Not scheduled in these months: {len(plan.unscheduled)} (lowest scores; see the Scores sheet)")
    if saved.kept is not None:
        click.echo(f"Previous workbook kept as: {rel(ws, saved.kept)}")
    click.echo(f"Written: {rel(ws, path)}")
    if clist.problems:
        click.secho(f"Skipped {len(clist.bad_rows)} row(s) of the contract list with problems:", fg="yellow")
        for p in clist.problems:
            click.echo(f"  {p}")
    first = plan.reviews[0].month
    click.echo(f"\nNext: check {rel(ws, path)} (move reviews between months if need be), then run: "
               f"cmrg generate --round {financial_year(first)} --planned {first:%m/%Y}")


def financial_year(month: dt.date) -> str:
    """The UK financial year a month falls in, as a round name: 2026-27 for December 2026 or March 2027."""
    year = month.year if month.month >= 4 else month.year - 1
    return f"{year}-{(year + 1) % 100:02d}"


# --- the plan as 'cmrg generate --planned' reads it -------------------------------------
SHOW_IDS = 20


def planned_contracts(ws: Workspace, month: dt.date, plan_from: dt.date | None,
                      today: dt.date | None = None) -> list[str]:
    """The contract IDs the current plan schedules in ``month``, after saying where the plan came from.

    The plan is outbox/review-plan.xlsx when it exists (its Schedule sheet as last saved);
    otherwise it is recomputed as 'cmrg plan --from PLAN_FROM' would make it. Fails (exit 1)
    when nothing is planned that month or a planned contract is not on the contract list.
    """
    path = ws.outbox / PLAN_WORKBOOK
    clist = read_contracts(ws.contracts_path)
    try:
        if path.exists():
            if plan_from is not None:
                raise click.UsageError(
                    f"--plan-from is only for when there is no plan workbook, and {rel(ws, path)} exists: it is the "
                    "plan used. To plan from another month, run 'cmrg plan --from DATE' (add --replace if you have "
                    "changed the workbook: it is kept under a dated name), or move the workbook out of outbox/.")
            entries = read_plan_schedule(path, rel(ws, path))
            where = rel(ws, path)
            source = f"{where}, Schedule sheet as last saved"
            start = None
        else:
            settings = PlanSettings.from_section(ws.config.section("plan"))
            start = plan_from or default_start(today or dt.date.today())
            entries = schedule_entries(make_plan(clist.contracts, settings, start, register_last_reviews(ws),
                                                 today=today or dt.date.today()))
            where = "the recomputed plan"
            source = (f"recomputed from {rel(ws, ws.contracts_path)} and cmrg.toml, starting {start:%d/%m/%Y}, "
                      f"as there is no {rel(ws, path)}")
    except PlanError as exc:
        fail(str(exc), EXIT_INPUT)
        return []
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
        fail(f"no contracts are planned for {month:%B %Y}, so nothing was generated: the plan is {source}, and "
             f"{has}{hint}", EXIT_INPUT)
    known = {c.contract_id.casefold() for c in clist.contracts}
    missing = [cid for cid in ids if cid.casefold() not in known]
    if missing:
        bad_ids = {str(p.value).casefold() for p in clist.problems if p.column == "contract_id"}
        hint = " (its row has problems)" if any(m.casefold() in bad_ids for m in missing) else ""
        fail(f"planned for {month:%B %Y} in {where} but not on the contract list{hint}: "
             f"{', '.join(missing)}. Nothing was generated: change the plan, or put the contract(s) back on "
             f"{rel(ws, ws.contracts_path)}", EXIT_INPUT)
    shown = ", ".join(ids[:SHOW_IDS]) + (f" and {len(ids) - SHOW_IDS} more" if len(ids) > SHOW_IDS else "")
    click.echo(f"Planned for {month:%B %Y}: {len(ids)} contract(s) ({source}): {shown}")
    return ids
