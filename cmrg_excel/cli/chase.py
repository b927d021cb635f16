"""``cmrg chase``: its options and one-screen output over :func:`cmrg_excel.programme.chase.chase_round`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..programme.chase import chase_round
from ..programme.status import StatusError
from .base import EXIT_INPUT, command, fail, friendly_errors, load, rel, table, workspace_option
from .plan import date_option


@command("chase")
@click.option("--round", "round_", metavar="ROUND",
              help="The review round, e.g. 2026-27. Default: the latest one issued.")
@click.option("--deadline", callback=date_option, metavar="DATE",
              help="Count returns as overdue after this date (dd/mm/yyyy) instead of the deadline each workbook "
                   "was issued with.")
@click.option("--overdue-only", is_flag=True,
              help="Only contracts whose return is overdue: outstanding or rejected, and past the deadline.")
@click.option("--wait", "wait_seconds", type=click.FloatRange(min=0), default=10.0, show_default=True,
              metavar="SECONDS",
              help="How long to wait for another cmrg run on this workspace (an ingest, or generate replacing "
                   "workbooks) to finish before giving up with exit code 3.")
@workspace_option
@friendly_errors
def chase_cmd(round_: str | None, deadline: dt.date | None, overdue_only: bool, wait_seconds: float,
              workspace: Path | None) -> None:
    """Write reminder email drafts for returns not yet accepted.

    One ready-to-send .eml draft per contract whose return is outstanding or was
    rejected, into outbox/ROUND/chase-YYYY-MM-DD/ (today's date), with
    mailmerge-chase.csv beside them. Open a draft in Outlook or Thunderbird, check it
    and send it. The letter says when the return is due or how many days overdue it
    is or, for a rejected one, what to fix (the first five problems).

    \b
    Attachments:
      outstanding  the workbook issued to the owner, again
      rejected     the corrections workbook, when there is one:
                   outbox/ROUND/corrections/<contract>.xlsx; otherwise the list of
                   problems ingest wrote (inbox/rejected/<name>.problems.txt), for
                   the owner to fix their own workbook and send it again

    A file that came in under a contract's name but could not be used (a Word
    document, another contract's workbook) is named in that contract's reminder,
    with the reason; a return the review group withdrew ('cmrg decide withdraw') is
    chased again, with the reason it was withdrawn. Each reminder carries the
    workbook issued for that contract.

    Chase holds the workspace lock while it writes, so it never attaches a workbook
    that a 'cmrg generate --force' running at the same moment is replacing; it waits
    up to --wait seconds for such a run, then stops with exit code 3.

    The wording is cmrg's email-chase.txt (in its workbook_templates folder): to change
    it, put your own copy, starting with a "Subject:" line, in the workspace folder.
    Running chase again the same day refreshes that day's drafts (and drops those of
    returns accepted since). Nothing is sent.

    \b
    Examples:
      cmrg chase
      cmrg chase --round 2026-27 --overdue-only
      cmrg chase --round 2026-27 --deadline 15/01/2027 --overdue-only
    """
    ws = load(workspace)
    try:
        # The drafts attach issued workbooks: not while generate replaces them or ingest files returns.
        with ws.lock("chase", wait_seconds=wait_seconds):
            result = chase_round(ws, round_, deadline=deadline, overdue_only=overdue_only)
    except StatusError as exc:
        fail(str(exc), EXIT_INPUT)
        return
    t = result.status.totals
    if not result.drafts:
        what = "overdue " if overdue_only else ""
        click.echo(f"Round {result.round}: no {what}returns to chase ({t['accepted']} of {t['issued']} accepted).")
        return
    rows = [[d.contract_id, d.to, next(c.label for c in result.status.contracts if c.contract_id == d.contract_id),
             ", ".join(p.name for p in d.attachments)] for d in result.drafts]
    click.echo(f"Round {result.round}: {len(result.drafts)} reminder draft(s) in {rel(ws, result.folder)}/")
    click.echo(table(rows, ["Contract", "To", "Status", "Attached"]))
    click.echo(f"Mail merge list: {rel(ws, result.mailmerge)}")
    click.echo("Nothing has been sent: open each .eml draft, check it and send it.")
