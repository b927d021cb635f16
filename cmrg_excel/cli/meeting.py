"""cmrg meeting: the review group's meetings (the pack members read beforehand)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..kit.document import write_docx
from ..kit.pdf import PdfError, to_pdf
from ..review.pack import meeting_pack, meeting_pack_data
from .base import CmrgGroup, EXIT_INPUT, fail, file_error, friendly_errors, load, rel, workspace_option
from .plan import date_option


@click.group("meeting", cls=CmrgGroup)
def meeting_group() -> None:
    """The review group's meetings with contract owners.

    \b
    Commands:
      cmrg meeting pack --date DD/MM/YYYY ID [ID ...]   the pack members read first
    """


@meeting_group.command("pack")
@click.option("--date", "date", required=True, callback=date_option, metavar="DD/MM/YYYY",
              help="The date of the meeting.")
@click.argument("contract_ids", nargs=-1, required=True, metavar="ID [ID ...]")
@workspace_option
@friendly_errors
def pack_cmd(date: dt.date, contract_ids: tuple[str, ...], workspace: Path | None) -> None:
    """Write the meeting pack for members: an agenda page, then a section per contract.

    A meeting usually reviews two to four contracts. For each, the pack gives the
    contract's facts; its ratings by area beside the council's average and its previous
    review (a table and a chart); the weakest activities; ratings of Better or Best with
    thin or no evidence; Not applicable claims and their reasons; ratings that moved two
    levels or more since the last review; the owner's improvement actions with their
    progress; and suggested challenge questions, drawn from those facts and from the
    framework's questions for the weakest activities.

    The pack is written to outbox/meetings/YYYY-MM-DD/pack.docx, with pack.pdf beside it
    when LibreOffice is installed. A contract with no accepted self-assessment is named
    on the agenda page and left out; the others are packed.

    \b
    Example:
      cmrg meeting pack --date 12/02/2027 HID-001 ASC-004 GET-002
    """
    ws = load(workspace)
    ids = list(dict.fromkeys(c.strip() for c in contract_ids if c.strip()))
    if not ids:
        raise click.UsageError("name at least one contract ID")
    data = meeting_pack_data(ws, date, ids)
    for cid, why in data.missing:
        click.secho(f"  {cid}: left out of the pack: {why}.", fg="yellow")
    if not data.contracts:
        fail("no contract on the agenda has an accepted self-assessment, so no pack was written", EXIT_INPUT)
        return
    folder = ws.outbox / "meetings" / date.isoformat()
    target = folder / "pack.docx"
    try:
        write_docx(meeting_pack(data, ws.framework()), target)
    except OSError as exc:
        fail(file_error(exc, target, "written"), EXIT_INPUT)
        return
    questions = sum(len(c.questions) for c in data.contracts)
    click.echo(f"Meeting pack for {date:%d/%m/%Y}: {rel(ws, target)}")
    click.echo(f"  {len(data.contracts)} contract(s): {', '.join(c.contract_id for c in data.contracts)}; "
               f"{questions} suggested challenge question(s)")
    try:
        pdf = to_pdf(target)
    except PdfError as exc:
        click.secho(f"  No PDF: {exc}", fg="yellow")
    else:
        click.echo(f"  PDF copy: {rel(ws, pdf)}" if pdf else "  No PDF copy: LibreOffice is not installed.")
