"""``cmrg generate``: its options (checked against each other) and output over
:func:`cmrg_excel.issue.generate.generate_round` and, with --planned, :func:`cmrg_excel.issue.planned.planned_contracts`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..issue.generate import GenerateError, generate_round
from .base import (EXIT_INPUT, Progress, command, fail, friendly_errors, load, only_ids, rel, warn_placeholder_email,
                   workspace_option)
from ..issue.plan import PlanError
from ..issue.planned import plan_workbook_path, planned_contracts
from .plan import date_option, month_option

SHOW_IDS = 20


@command("generate")
@click.option("--round", "round_", required=True, metavar="ROUND",
              help="Name of the review round, e.g. 2026-27 (letters, digits, spaces, '.', '_' or '-'). Files go "
                   "to outbox/ROUND/.")
@click.option("--only", multiple=True, metavar="ID",
              help="Only these contracts, by their ID on the contract list (repeat the option, or separate IDs "
                   "with commas). Not with --planned.")
@click.option("--planned", callback=month_option, metavar="MONTH",
              help="Only the contracts the review plan schedules for MONTH: 12/2026, 2026-12, Dec 2026 or "
                   "December 2026. Not with --only.")
@click.option("--plan-from", callback=date_option, metavar="DATE",
              help="With --planned and no outbox/review-plan.xlsx: the first month of the recomputed plan "
                   "(dd/mm/yyyy), as 'cmrg plan --from'. Default: as 'cmrg plan', the first day of next month.")
@click.option("--force", is_flag=True,
              help="Issue new workbooks even where the round already has them; the old ones become superseded. "
                   "Not with --skip-issued.")
@click.option("--skip-issued", is_flag=True,
              help="Leave out contracts that already have a workbook in this round (after issuing a month of the "
                   "plan, or when contracts were added to the list) and issue the rest. Not with --force.")
@click.option("--skip-invalid", is_flag=True,
              help="Generate for the good rows of the contract list and list the bad ones, instead of stopping.")
@click.option("--eml", is_flag=True,
              help="Also write a ready-to-send .eml email draft per contract, workbook attached, beside it.")
@click.option("--prefill-from", metavar="ROUND",
              help="Re-review: fill each workbook with the contract's accepted answers from an earlier ROUND, "
                   "shaded as carried forward for the owner to confirm or update.")
@workspace_option
@friendly_errors
def generate_cmd(round_: str, only: tuple[str, ...], planned: dt.date | None, plan_from: dt.date | None, force: bool,
                 skip_issued: bool, skip_invalid: bool, eml: bool, prefill_from: str | None,
                 workspace: Path | None) -> None:
    """Write one locked self-assessment workbook per contract on the list.

    Each workbook, outbox/ROUND/<contract>.xlsx, has the contract's details filled in
    and locked, a rating dropdown and evidence cells for every key activity of the
    framework, and an attestation to sign. Every file is recorded in the issue ledger,
    so a return can later be proved to be one we sent. Beside the files:
    mailmerge.csv for a mail merge (every open workbook of the round; its issued_on
    column picks out the ones just made), and with --eml one email draft per contract.
    The email's wording is cmrg's email-issue.txt (in its workbook_templates folder):
    to change it, put your own copy, starting with a "Subject:" line, in the
    workspace folder.

    The deadline for returns, shown on every workbook, is the deadline date in
    cmrg.toml, kept as written (with a warning if it is not a working day); else
    deadline_days from today, moved on past weekends and the bank holidays named by
    the holidays setting.

    The contract list is checked first: if any row has a problem, every problem is
    listed with its row and column and nothing is generated (unless --skip-invalid).

    A new round whose name is close to one already issued (2026-72 when 2026-27 was
    issued) gets a warning: if it was a slip, 'cmrg decide withdraw-round' takes it
    back, recorded (and 'cmrg decide withdraw-workbook' one workbook issued by
    mistake).

    A round is never overwritten by accident: where a contract already has a workbook
    in the round, generate stops and changes nothing. --skip-issued leaves those
    contracts out and issues the rest; --force issues new workbooks for them and marks
    the old ones superseded (a return made on an old one is then rejected).

    --planned MONTH issues that month's reviews from the review plan. The plan is
    outbox/review-plan.xlsx (written by 'cmrg plan') as you last saved it: its Schedule
    sheet is read as it stands, so rows deleted, added, re-sorted or moved to another
    month in Excel count. Only when there is no such workbook is the plan recomputed,
    as 'cmrg plan' would make it, from the contract list and the [plan] settings in
    cmrg.toml, starting from --plan-from (default: next month); a recomputed plan changes
    as the list, the settings and the register change, so keep a workbook for a
    programme run month by month. The output says which plan was used. A planned
    contract that is no longer on the contract list, or a month with nothing planned,
    is an error and nothing is generated. --planned and --only do not mix: to issue an
    extra contract, run generate again with --only.

    \b
    Examples:
      cmrg generate --round 2026-27
      cmrg generate --round 2026-27 --planned 12/2026 --eml
      cmrg generate --round 2026-27 --skip-issued
      cmrg generate --round 2026-27 --only GET-001 --force --eml
      cmrg generate --round 2027-28 --prefill-from 2026-27
    """
    if planned is not None and only:
        raise click.UsageError("use --planned or --only, not both: to issue an extra contract, run generate again "
                               "with --only")
    if skip_issued and force:
        raise click.UsageError("use --skip-issued or --force, not both: --force replaces the workbooks already "
                               "issued, --skip-issued leaves them alone")
    if plan_from is not None and planned is None:
        raise click.UsageError("--plan-from goes with --planned")
    ids = only_ids(only)
    ws = load(workspace)
    if planned is not None:
        if plan_from is not None and plan_workbook_path(ws).exists():  # a usage error: exit code 2
            raise click.UsageError(
                f"--plan-from is only for when there is no plan workbook, and {rel(ws, plan_workbook_path(ws))} "
                "exists: it is the plan used. To plan from another month, run 'cmrg plan --from DATE' (add "
                "--replace if you have changed the workbook: it is kept under a dated name), or move the workbook "
                "out of outbox/.")
        try:
            chosen = planned_contracts(ws, planned, plan_from)
        except PlanError as exc:
            fail(str(exc), EXIT_INPUT)
            return
        ids = chosen.contract_ids
        shown = ", ".join(ids[:SHOW_IDS]) + (f" and {len(ids) - SHOW_IDS} more" if len(ids) > SHOW_IDS else "")
        click.echo(f"Planned for {planned:%B %Y}: {len(ids)} contract(s) ({chosen.source}): {shown}")
    try:
        # The ledger changes: not while another run (an ingest, say) is using the workspace.
        with ws.lock("generate"), Progress("Generating workbooks") as bar:
            result = generate_round(ws, round_, only=ids or None, force=force, skip_invalid=skip_invalid,
                                    skip_issued=skip_issued,
                                    eml=eml, prefill_from=prefill_from, progress=bar.tick, on_start=bar.start)
    except GenerateError as exc:
        fail(str(exc), EXIT_INPUT)
        return
    if result.close_to:
        shown = f'"{result.round}"' if " " in result.round else result.round
        click.secho(f"Warning: round {result.round} is new, and its name is close to round {result.close_to}, "
                    f"issued before. If it was a slip, withdraw it (cmrg decide withdraw-round {shown} --reason "
                    f"\"...\") and generate the round you meant; nothing has been sent yet.", fg="yellow")
    click.echo(f"Round {result.round}: {len(result.files)} workbook(s) in {rel(ws, result.folder)}/")
    for f in result.files[:5]:
        extra = f"  + {f.eml.name}" if f.eml else ""
        click.echo(f"  {f.path.name}{extra}")
    if len(result.files) > 5:
        click.echo(f"  ... and {len(result.files) - 5} more")
    if prefill_from:
        click.echo(f"Pre-filled with {prefill_from}'s accepted answers: {result.prefilled} of {len(result.files)} "
                   f"workbook(s); the other {len(result.files) - result.prefilled} had no accepted return in "
                   f"{prefill_from} and start blank." if result.prefilled < len(result.files) else
                   f"Pre-filled with {prefill_from}'s accepted answers: all {result.prefilled} workbook(s).")
        if result.prefill_open:
            n = len(result.prefill_open)
            shown = ", ".join(result.prefill_open[:8]) + (f" and {n - 8} more" if n > 8 else "")
            click.secho(f"Warning: {n} contract(s) still have an open return in {prefill_from} (not yet accepted), "
                        f"so their workbooks carry nothing forward from it: {shown}. Ingest or chase those returns "
                        f"first, then issue again with --force if you want them pre-filled.", fg="yellow", err=True)
    click.echo(f"Deadline for returns: {result.deadline:%d/%m/%Y}")
    if ws.config.deadline and (why := ws.config.not_a_working_day(result.deadline)):
        click.secho(f"Warning: that is {why}; the deadline set in cmrg.toml is kept as written.", fg="yellow")
    if result.mailmerge:
        earlier = result.already_issued or result.open_in_round > len(result.files)
        note = (f" (all {result.open_in_round} open workbooks of the round: filter on issued_on for the ones "
                "just made)") if earlier else ""
        click.echo(f"Mail merge list: {rel(ws, result.mailmerge)}{note}")
    if result.superseded:
        click.echo(f"{result.superseded} earlier workbook(s) of this round are now superseded.")
    if result.already_issued:
        n = len(result.already_issued)
        shown = ", ".join(result.already_issued[:8]) + (f" and {n - 8} more" if n > 8 else "")
        click.echo(f"Left out {n} contract(s) that already have a workbook in this round: {shown}")
    if result.skipped:
        rows = sorted({p.row for p in result.skipped})
        click.secho(f"Skipped {len(rows)} row(s) of the contract list with problems:", fg="yellow")
        for p in result.skipped:
            click.echo(f"  {p}")
    warn_placeholder_email(ws)
    click.echo("\nNext: email the workbooks (see mailmerge.csv), then drop returns into inbox/ and run: cmrg ingest")
