"""``cmrg status``: its options, table and totals over :mod:`cmrg_excel.programme.status`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..programme.status import StatusError, load_round_status, received_date, status_path, write_status_workbook
from ..core.terminal import clip
from .base import EXIT_INPUT, command, fail, file_error, friendly_errors, load, rel, table, workspace_option
from .plan import date_option


@command("status")
@click.option("--round", "round_", metavar="ROUND",
              help="The review round, e.g. 2026-27. Default: the latest one issued.")
@click.option("--deadline", callback=date_option, metavar="DATE",
              help="Count returns as overdue after this date (dd/mm/yyyy) instead of the deadline each workbook "
                   "was issued with.")
@workspace_option
@friendly_errors
def status_cmd(round_: str | None, deadline: dt.date | None, workspace: Path | None) -> None:
    """Show where each contract's return stands in a round.

    For every contract issued a workbook in the round: accepted, rejected and awaiting
    a corrected return, or outstanding; and overdue when not accepted after its
    deadline (the one written on its workbook, or --deadline). Prints the table with
    totals and writes outbox/status-ROUND.xlsx (replacing the last one). Nothing else
    changes.

    A file that turned out to be another contract's workbook counts for neither
    contract: the contract it was issued to stays outstanding, and the file is counted
    below the table with those that are not a workbook we issued (see inbox/rejected/).

    Below the table, "To know" lists, for each contract: an accepted return that
    needs a look (its file was named for another contract: confirm it, or withdraw
    it, with 'cmrg decide'); a return the review group withdrew, with when, who and
    why; and files that came in under the contract's name but could not be used,
    with the reason (a Word document, another contract's workbook). The status
    workbook has them in its Notes column, and 'cmrg chase' tells the owner.

    It only reads the register: another program writing to it never makes it wait.

    \b
    Examples:
      cmrg status
      cmrg status --round 2026-27 --deadline 15/01/2027
    Then: cmrg chase, for reminder emails to everyone not yet accepted.
    """
    ws = load(workspace)
    try:
        status = load_round_status(ws, round_, deadline=deadline)
    except StatusError as exc:
        fail(str(exc), EXIT_INPUT)
        return
    path = status_path(ws, status.round)
    try:
        write_status_workbook(status, path, ws.config.council_name)
    except OSError as exc:
        fail(file_error(exc, rel(ws, path), "written"), EXIT_INPUT)
        return
    rows = []
    for c in status.contracts:
        received = received_date(c.received_at)
        rows.append([c.contract_id, c.owner_name, f"{c.deadline:%d/%m/%Y}", c.label,
                     c.days_overdue or "", f"{received:%d/%m/%Y}" if received else ""])
    click.echo(f"Round {status.round}, as at {status.today:%d/%m/%Y}")
    click.echo(table(rows, ["Contract", "Owner", "Deadline", "Status", "Days late", "Received"]))
    click.echo(status.totals_line())
    if status.unmatched_rejections:
        click.echo(f"{status.unmatched_rejections} rejected file(s) count for no contract: another contract's "
                   "workbook, or not one we issued (see inbox/rejected/).")
    noted = [(c.contract_id, n) for c in status.contracts for n in c.notes]
    if noted:
        click.echo("\nTo know:")
        for cid, note in noted:
            click.echo(clip(f"  {cid}: {note}", 400))
    if status.details:
        click.echo(f"\nContract details to correct on the contract list ({len(status.details)}), as the owners "
                   "wrote them:")
        click.echo(table([[d.contract_id, clip(d.line(), 100)] for d in status.details[:20]],
                         ["Contract", "Detail: as issued -> owner's correction"], indent="  "))
        if len(status.details) > 20:
            click.echo(f"  ... and {len(status.details) - 20} more in the workbook.")
    click.echo(f"Written: {rel(ws, path)}")
    waiting = sum(c.needs_chasing for c in status.contracts)
    if waiting:
        shown = f'"{status.round}"' if " " in status.round else status.round
        click.echo(f"\nNext: cmrg chase --round {shown}   (reminder drafts for {waiting} contract(s))")
