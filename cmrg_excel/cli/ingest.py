"""``cmrg ingest``: its options, progress bar and one-screen summary over :func:`cmrg_excel.intake.ingest.ingest`."""

from __future__ import annotations

from pathlib import Path

import click

from ..intake.ingest import IngestStopped, ingest
from ..core.terminal import clip
from .base import Progress, command, fail, friendly_errors, load, rel, seconds_option, table, workspace_option


@command("ingest")
@click.option("--wait", "wait_seconds", type=float, callback=seconds_option, default=10.0, show_default=True, metavar="SECONDS",
              help="How long to wait for another cmrg run on this workspace (a colleague's ingest, say) to "
                   "finish before giving up with exit code 3.")
@click.option("--no-corrections", is_flag=True,
              help="Do not make corrections workbooks for the returns rejected in this run; make them later "
                   "with 'cmrg corrections'.")
@workspace_option
@friendly_errors
def ingest_cmd(wait_seconds: float, no_corrections: bool, workspace: Path | None) -> None:
    """Check the returned workbooks in inbox/ and file each one.

    Save returned workbooks into the workspace's inbox/ folder (or a subfolder of it)
    as they came, with any file name, and run this command. Files are taken oldest
    first by the time they were saved, so when two returns of one contract arrive
    together the newer one counts (the output says so). Each file is read once, and
    those very bytes are checked and filed:

    \b
      1. Is it safe to open? Not too big, not password-protected, no macros, not
         a zip bomb or other booby-trapped file, no links to other files.
      2. Is it a workbook we issued (checked against the issue ledger), from its
         contract's latest round, and not since replaced by a newer workbook?
         What the workbook proves decides whose return it is, never its file
         name: a return named for another contract is filed as the contract its
         workbook was issued to, and marked "needs a look".
      3. Is every answer valid? Every activity rated from the list; Not
         applicable with its reason; improvement actions with an owner and a
         target date; dates that are real dates; the attestation complete.
         Scores are recomputed from the ratings, never taken from the file.

    \b
    Where each file ends up (every file in exactly one place):
      accepted   archive/ROUND/CONTRACT/<time>-<hash>-<name>, a copy of the
                 bytes checked, kept exactly as received (<time>: when it came
                 in, UTC; <hash>: the start of its SHA-256 fingerprint), and its
                 answers go into the register. A later accepted return for the
                 same contract and round becomes the current one; both are kept.
      rejected   inbox/rejected/<name>, with <name>.problems.txt beside it
                 listing every problem with its sheet and cell, in words the
                 owner can act on.
      duplicate  inbox/duplicates/<name>: the very same file was received
                 before, so nothing changed. Safe to delete. (The same bytes
                 refused before for one of our own limits - the size cap, the
                 reading time or memory, a damaged copy - are checked again.)
      skipped    left in inbox/, with the reason and what to do: still being
                 saved (its size or time changed within settle_seconds, or
                 between being read and filed), a link or shortcut (never
                 followed), a folder named like a workbook, a device or pipe,
                 a file that cannot be opened, a problems note cmrg wrote, or
                 cmrg itself failed on it. The next run looks again.

    The copy in archive/ or inbox/rejected/ is written from the bytes that were
    checked, made durable on disk and its fingerprint verified before the file is
    taken out of inbox/: a program still writing to the inbox file, or another
    name for it elsewhere, cannot change what was filed. Nothing filed is ever
    deleted.

    A rejected return of the contract's own workbook, as we issued it, also gets a
    corrections workbook: outbox/ROUND/corrections/<contract>.xlsx, with the owner's
    answers filled in, each cell to fix shaded red with a note, and a "Fixes needed"
    sheet first. It replaces the owner's workbook ('cmrg chase' attaches it); when it
    comes back fixed it is accepted, linked to the rejected return. Another contract's
    workbook (issued for one contract but showing another on its Contract sheet) gets
    none: its answers are most likely the other contract's, so its note in
    inbox/rejected/ tells the sender which workbook to fill in. Nor do files that
    cannot be placed (not a workbook we issued, its hidden sheet removed, replaced by
    a newer workbook, withdrawn, or from an earlier round).

    A return made on an older version of the framework (the workspace's framework
    file has a newer version) is mapped onto the current version using the file's
    [[upgrades]] table, and the mapping is listed in the report; without a mapping it is
    rejected with "please use the current template", and its corrections workbook is on
    the current version.

    Every run that finds a file writes a report workbook, outbox/ingest-<time>.xlsx,
    listing each file, its outcome and every reason (sheets Files, Reasons, Upgrades,
    Corrections, Details to correct and Summary; Upgrades, Corrections and Details to
    correct only when a run has any), and is recorded in the register (who ran it, on
    which machine, when, its counts and its report); a run that finds inbox/ empty
    writes no report. Running ingest again is always safe: a run that was interrupted
    is finished off, and files already registered are recognised. A run that has to
    stop part way (the register busy with another program, a folder that cannot be
    written) lists the files it had already filed, then says why.

    \b
    Settings ([ingest] in cmrg.toml): max_file_mb, workers, worker_memory_mb,
    file_timeout_seconds, settle_seconds.

    \b
    Exit codes: 0 the run completed, even if files were rejected; 1 the workspace
    or its cmrg.toml needs fixing, or a folder could not be written; 3 another cmrg
    run kept the workspace busy for longer than --wait, another program was writing
    to the register, or the register is damaged.

    \b
    Examples:
      cmrg ingest
      cmrg ingest --workspace ~/cmrg --wait 60
      cmrg ingest --no-corrections
    """
    ws = load(workspace)
    try:
        with Progress("Checking returns", always_over=200) as bar:
            result = ingest(ws, progress=bar.tick, on_start=bar.start, wait_seconds=wait_seconds,
                            corrections=not no_corrections)
    except IngestStopped as stopped:  # say what was filed before it stopped, then why it stopped
        show(ws, stopped.result, stopped=True)
        fail(str(stopped), stopped.exit_code)
        return
    show(ws, result)


def show(ws, result, stopped: bool = False) -> None:
    """The run's one-screen summary."""
    n = len(result.files)
    if result.recovered:
        click.echo(f"Finished off {result.recovered} file(s) left by an interrupted run.")
    if stopped:
        click.echo(f"Stopped part way: {n} file(s) looked at before it stopped: "
                   f"{result.count('accepted')} accepted, {result.count('rejected')} rejected, "
                   f"{result.count('duplicate')} duplicate, {result.count('skipped')} left in the inbox")
    elif n == 0:
        click.echo(f"No returns waiting in {rel(ws, ws.inbox)}/.")
    else:
        click.echo(f"{n} file(s) in {result.seconds:.1f} s: "
                   f"{result.count('accepted')} accepted, {result.count('rejected')} rejected, "
                   f"{result.count('duplicate')} duplicate" +
                   (f", {result.count('skipped')} left in the inbox" if result.count("skipped") else ""))
    rows = []
    shown = [f for f in result.files if f.outcome != "accepted" or f.needs_a_look or (stopped and f.stored)]
    for f in shown[:15]:
        more = f" (+{len(f.problems) - 1} more)" if len(f.problems) > 1 else ""
        outcome = "accepted, needs a look" if f.needs_a_look else f.outcome
        reason = f"now at {f.stored}" if f.outcome == "accepted" and not f.needs_a_look else f.first_reason
        rows.append([f.name[:30], f.contract_id or "?", outcome, clip(reason, 90) + more])
    if rows:
        click.echo("")
        click.echo(table(rows, ["File", "Contract", "Outcome", "First reason"]))
        if len(shown) > 15:
            click.echo(f"... and {len(shown) - 15} more in the report.")
    same_run = [f for f in result.accepted if f.replaces is not None]
    for f in same_run[:15]:
        click.echo(f"\n{f.contract_id}: {f.name} replaces {f.replaces.name}, both in this run; the newer (saved "
                   "later) counts, both are kept.")
    superseding = [f for f in result.accepted if f.supersedes and f.replaces is None]
    if superseding:
        click.echo(f"\n{len(superseding)} accepted return(s) replace an earlier return for the same contract and round.")
    for f in [f for f in result.files if f.needs_a_look][:15]:
        others = ", ".join(f.named_for) or "another contract"
        click.echo(f"\nNeeds a look: {f.name} is {f.contract_id}'s workbook, named for {others}, and was filed as "
                   f"{f.contract_id}'s return. If it holds {f.contract_id}'s answers: cmrg decide confirm "
                   f"{f.contract_id} --reason \"...\"; if not: cmrg decide withdraw {f.contract_id} --reason \"...\"")
    mapped = [f for f in result.accepted if f.mapping]
    if mapped:
        click.echo(f"\n{len(mapped)} return(s) made on an older framework version were mapped onto the current one "
                   "(sheet Upgrades of the report).")
    details = [(f, d) for f in result.files for d in f.details]
    if details:
        click.echo(f"\nContract details to correct ({len(details)}), as the owners wrote them: put them right on the "
                   "contract list before the next round")
        click.echo(table([[d.contract_id, clip(d.line(), 90), f.outcome] for f, d in details[:15]],
                         ["Contract", "Detail: as issued -> owner's correction", "Return"], indent="  "))
        if len(details) > 15:
            click.echo(f"  ... and {len(details) - 15} more in the report.")
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
