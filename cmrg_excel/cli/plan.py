"""cmrg plan."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..contracts import parse_date, read_contracts
from ..plan import PlanError, PlanSettings, add_months, make_plan, month_start, register_last_reviews, write_plan_workbook
from ..terminal import clip
from . import EXIT_INPUT, cli, fail, friendly_errors, load, rel, table, workspace_option

SHOW_MONTHS = 3


def date_option(ctx, param, value):
    """A click callback: a UK (dd/mm/yyyy) or ISO date, or a clear usage error."""
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date: write dd/mm/yyyy, e.g. 01/01/2027") from None


@cli.command("plan")
@click.option("--from", "start", callback=date_option, metavar="DATE",
              help="First month of the plan (dd/mm/yyyy). Default: the first day of next month. "
                   "Re-commissioning and end dates are measured from this date.")
@click.option("--months", type=click.IntRange(1, 60), metavar="N",
              help="How many months to plan. Default: [plan] months in cmrg.toml (12).")
@click.option("--per-month", type=click.IntRange(1, 100), metavar="K",
              help="Reviews each month. Default: [plan] per_month in cmrg.toml (3).")
@workspace_option
@friendly_errors
def plan_cmd(start: dt.date | None, months: int | None, per_month: int | None, workspace: Path | None) -> None:
    """Propose which contracts to review, month by month.

    Every contract on the list gets a score out of 100 from six criteria: value (annual
    and total), risk, complexity, audit synergy, timing (a re-commissioning, extension or
    end date coming up) and time since the last review. The weights are the [plan]
    settings in cmrg.toml. The schedule puts contracts due for re-commissioning ahead of
    that date, then the highest scores, and spreads each month across directorates.

    Writes outbox/review-plan.xlsx: the Schedule with a reason for each choice, every
    contract's Scores with each criterion's points in its own column, and the Method.
    Nothing else changes, so run it as often as you like.

    \b
    Examples:
      cmrg plan
      cmrg plan --from 01/04/2027 --months 6 --per-month 4
    """
    ws = load(workspace)
    try:
        settings = PlanSettings.from_section(ws.config.section("plan"), months=months, per_month=per_month)
    except PlanError as exc:
        fail(str(exc), EXIT_INPUT)
        return
    start = start or add_months(month_start(dt.date.today()), 1)
    clist = read_contracts(ws.contracts_path)
    try:
        plan = make_plan(clist.contracts, settings, start, register_last_reviews(ws))
    except PlanError as exc:
        fail(f"{rel(ws, ws.contracts_path)}: {exc}", EXIT_INPUT)
        return
    path = write_plan_workbook(plan, ws.outbox / "review-plan.xlsx", ws.config.council_name, ws.config.review_group)

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
    click.echo(f"Written: {rel(ws, path)}")
    if clist.problems:
        click.secho(f"Left out {len(clist.bad_rows)} row(s) of the contract list with problems:", fg="yellow")
        for p in clist.problems[:5]:
            click.echo(f"  {p}")
        if len(clist.problems) > 5:
            click.echo(f"  ... and {len(clist.problems) - 5} more")
