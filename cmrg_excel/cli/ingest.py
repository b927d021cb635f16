"""cmrg ingest."""

from __future__ import annotations

from pathlib import Path

import click

from ..ingest import ingest
from ..terminal import clip
from . import Progress, cli, friendly_errors, load, rel, table, workspace_option


@cli.command("ingest")
@click.option("--wait", "wait_seconds", type=float, default=10.0, show_default=True, metavar="SECONDS",
              help="How long to wait for another cmrg run on this workspace to finish before giving up.")
@click.option("--no-corrections", is_flag=True,
              help="Do not make corrections workbooks for rejected returns (make them later with 'cmrg corrections').")
@workspace_option
@friendly_errors
def ingest_cmd(wait_seconds: float, no_corrections: bool, workspace: Path | None) -> None:
    """Check the returned workbooks in inbox/ and file each one.

    Save returned workbooks (as they came, any file name) into the workspace's inbox/
    folder, or a subfolder of it, and run this command. Each file is checked in turn:

    \b
      1. Is it safe to open? (not too big, not password-protected, no macros, not a
         zip bomb or other booby-trapped file, no links to other files)
      2. Is it a workbook we issued, for this contract, in the current round, and not
         replaced by a newer one? (checked against the issue ledger)
      3. Is every answer valid? Every activity rated from the list; Not applicable
         with its reason; improvement actions with an owner and a target date; dates
         that are real dates; the attestation complete. Scores are recomputed from
         the ratings, never taken from the file.

    \b
    Where each file ends up (every file in exactly one place):
      accepted   archive/ROUND/CONTRACT/<time>-<hash>-<name>, answers in the register.
                 A newer accepted return for the same contract and round replaces the
                 older one as "current"; both stay in the history.
      rejected   inbox/rejected/<name>, with <name>.problems.txt beside it listing
                 every problem with its sheet and cell, in words the owner can act on.
                 If it is the contract's own workbook as we issued it (not another
                 contract's, not replaced by a newer one), a corrections workbook is made:
                 outbox/ROUND/corrections/<contract>.xlsx, the owner's answers filled
                 in, each cell to fix shaded red with a note, a "Fixes needed" sheet
                 first. It replaces the owner's workbook ('cmrg chase' attaches it);
                 when it comes back fixed it is accepted, linked to the rejected one.
      duplicate  inbox/duplicates/<name>: the very same file was received before, so
                 nothing changed. Safe to delete.

    A return made on an older version of the framework (the workspace's framework
    file has a newer version) is mapped onto the current version using the file's
    [[upgrades]] table, and the mapping is listed in the report; without a mapping it is
    rejected with "please use the current template", and its corrections workbook is on
    the current version.

    Every run writes a report workbook, outbox/ingest-<time>.xlsx, listing each file,
    its outcome and every reason (sheets Files, Reasons, Upgrades, Corrections). Running ingest again is always safe: a run that was
    interrupted is finished off, and files already registered are recognised.

    \b
    Settings ([ingest] in cmrg.toml): max_file_mb, workers, worker_memory_mb,
    file_timeout_seconds.

    \b
    Exit codes: 0 the run completed (even if files were rejected); 3 another cmrg
    run is using the workspace, or the register is damaged.

    \b
    Examples:
      cmrg ingest
      cmrg ingest --workspace ~/cmrg/2026-27
    """
    ws = load(workspace)
    with Progress("Checking returns", always_over=200) as bar:
        result = ingest(ws, progress=bar.tick, on_start=bar.start, wait_seconds=wait_seconds,
                        corrections=not no_corrections)
    n = len(result.files)
    if result.recovered:
        click.echo(f"Finished off {result.recovered} file(s) left by an interrupted run.")
    if n == 0:
        click.echo(f"No returns waiting in {rel(ws, ws.inbox)}/.")
    else:
        click.echo(f"{n} file(s) in {result.seconds:.1f} s: "
                   f"{result.count('accepted')} accepted, {result.count('rejected')} rejected, "
                   f"{result.count('duplicate')} duplicate" +
                   (f", {result.count('skipped')} left in the inbox" if result.count("skipped") else ""))
    rows = []
    shown = [f for f in result.files if f.outcome != "accepted"]
    for f in shown[:15]:
        more = f" (+{len(f.problems) - 1} more)" if len(f.problems) > 1 else ""
        rows.append([f.name[:30], f.contract_id or "?", f.outcome, clip(f.first_reason, 90) + more])
    if rows:
        click.echo("")
        click.echo(table(rows, ["File", "Contract", "Outcome", "First reason"]))
        if len(shown) > 15:
            click.echo(f"... and {len(shown) - 15} more in the report.")
    superseding = [f for f in result.accepted if f.supersedes]
    if superseding:
        click.echo(f"\n{len(superseding)} accepted return(s) replace an earlier return for the same contract and round.")
    mapped = [f for f in result.accepted if f.mapping]
    if mapped:
        click.echo(f"\n{len(mapped)} return(s) made on an older framework version were mapped onto the current one "
                   "(sheet Upgrades of the report).")
    if result.rejected:
        click.echo(f"\nWhat each owner must fix: {rel(ws, ws.rejected)}/<file>.problems.txt")
    if result.corrections:
        folders = sorted({rel(ws, c.path.parent) for c in result.corrections})
        click.echo(f"Corrections workbooks ({len(result.corrections)}), to send back: "
                   f"{', '.join(f + '/' for f in folders)} ('cmrg chase' attaches them)")
    if result.corrections_error:
        click.secho(f"Corrections workbooks could not be made: {result.corrections_error}", fg="yellow")
    if result.report:
        click.echo(f"Report: {rel(ws, result.report)}")
    if result.workers_replaced:
        click.echo(f"{result.workers_replaced} file(s) crashed or stalled the reader and were rejected as unreadable.")
