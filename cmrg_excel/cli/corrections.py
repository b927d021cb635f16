"""``cmrg corrections``: its options and output over :func:`cmrg_excel.intake.corrections.issue_corrections`."""

from __future__ import annotations

from pathlib import Path

import click

from ..intake.corrections import CorrectionsError, issue_corrections
from .base import EXIT_INPUT, command, fail, friendly_errors, load, only_ids, rel, workspace_option


@command("corrections")
@click.option("--round", "round_", metavar="ROUND", help="Only returns of this review round, e.g. 2026-27. "
              "Default: every round.")
@click.option("--only", multiple=True, metavar="ID",
              help="Only these contracts (repeat the option, or separate IDs with commas).")
@workspace_option
@friendly_errors
def corrections_cmd(round_: str | None, only: tuple[str, ...], workspace: Path | None) -> None:
    """Make a corrections workbook for each rejected return that does not have one yet.

    'cmrg ingest' already does this for the returns it rejects (unless
    --no-corrections); run this command for returns rejected before, or after using
    --no-corrections. Where several returns of a contract were rejected, the latest
    one is used.

    A corrections workbook is a fresh workbook for the same contract and round with
    everything the owner entered filled in again, each cell to fix shaded red with a note
    saying what is wrong, and a first sheet, "Fixes needed", listing the fixes. It is
    written to outbox/ROUND/corrections/<contract>.xlsx, where 'cmrg chase' attaches it
    to the reminder, and recorded in the issue ledger as a re-issue linked to the rejected
    return. It replaces the workbook the owner used: a return on that one is rejected,
    pointing to the corrections workbook. When the fixed workbook comes back, ingest
    accepts it as the contract's return, linked to the rejected one. Its deadline is
    the original one, or two weeks from today if that is later (moved on past a
    weekend or bank holiday).

    A return made on an older framework version that could not be mapped gets its
    corrections workbook on the current version, answers copied across where the
    activities correspond.

    Some rejected returns get none: another contract's workbook (issued for one
    contract but named for, or showing, another), as its answers are most likely the
    other contract's (the note beside it in inbox/rejected/ tells the sender which
    workbook to fill in, and the contract it was issued to stays outstanding); a
    return that cannot be placed (not a workbook we issued, its hidden sheet removed,
    replaced by a newer workbook, or from an earlier round), whose owner needs the
    workbook already issued; and a rejected return followed by an accepted one.

    \b
    Examples:
      cmrg corrections
      cmrg corrections --round 2026-27
      cmrg corrections --round 2026-27 --only GET-004,CED-007
    """
    ids = only_ids(only)
    ws = load(workspace)
    try:
        with ws.lock("corrections"):  # the ledger changes: not while an ingest is filing returns
            made = issue_corrections(ws, round=round_, only=ids or None)
    except CorrectionsError as exc:
        fail(str(exc), EXIT_INPUT)
        return
    if not made:
        click.echo("No rejected return needs a corrections workbook.")
        return
    click.echo(f"{len(made)} corrections workbook(s):")
    for c in made:
        click.echo(f"  {c.contract_id:<12} {rel(ws, c.path)}  ({len(c.fixes)} fix(es)"
                   + (f", moved to framework v{c.framework_version}" if c.upgraded else "") + ")")
    click.echo("\nNext: send them to the owners ('cmrg chase' writes the emails with each one attached).")
