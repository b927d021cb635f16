"""``cmrg plan``: its options and output over :func:`cmrg_excel.issue.planned.propose_plan`; and the date and
month option parsers other commands share."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..core.contracts import parse_date
from ..core.settings import DATE_MAX, DATE_MIN
from ..core.terminal import clip
from ..issue.plan import PlanError, add_months, month_start
from ..issue.plan_workbook import parse_month
from ..issue.planned import financial_year, propose_plan
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
        proposed = propose_plan(ws, start, months=months, per_month=per_month, replace=replace,
                                skip_invalid=skip_invalid)
    except PlanError as exc:
        fail(str(exc), EXIT_INPUT)
        return
    plan, saved, start = proposed.plan, proposed.saved, proposed.start
    settings = plan.settings
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
    if proposed.problems:
        click.secho(f"Skipped {proposed.bad_rows} row(s) of the contract list with problems:", fg="yellow")
        for p in proposed.problems:
            click.echo(f"  {p}")
    first = plan.reviews[0].month
    click.echo(f"\nNext: check {rel(ws, path)} (move reviews between months if need be), then run: "
               f"cmrg generate --round {financial_year(first)} --planned {first:%m/%Y}")
