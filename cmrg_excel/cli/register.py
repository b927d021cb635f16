"""``cmrg register``: its options and output over :func:`cmrg_excel.register.export_answers`."""

from __future__ import annotations

from pathlib import Path

import click
from xlsxwriter.exceptions import FileCreateError

from ..register import export_answers
from .base import EXIT_INPUT, command, fail, file_error, friendly_errors, load, out_target, rel, workspace_option


@command("register")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Where to write the register: a file name ending .xlsx (an Excel table) or .csv, from the "
                   "current folder (not the workspace). A file already there is kept unless --force; a file cmrg "
                   "keeps (the contract list, anything in outbox/ROUND/, inbox/ or archive/) never is.")
@click.option("--force", is_flag=True, help="Replace a file already at --out (never one cmrg keeps).")
@click.option("--round", "round_", metavar="ROUND", help="Only this review round, e.g. 2026-27. Default: every round.")
@click.option("--all-returns", is_flag=True,
              help="Include returns replaced by a later accepted one (marked superseded) or withdrawn by the review group (marked withdrawn), not only the current ones.")
@workspace_option
@friendly_errors
def register_cmd(out: Path, force: bool, round_: str | None, all_returns: bool, workspace: Path | None) -> None:
    """Export the master register of accepted answers.

    One row per contract, round and key activity of each accepted return: the
    contract's details, the area and activity, the rating and its score (recomputed
    from the rating), the evidence, any improvement action with its owner and target
    date, and where the answer came from (submission, file SHA-256, sheet and cell,
    when it was received, who signed it off). Rejected returns are not included.

    .xlsx gives an Excel Table with filters and a frozen header; .csv gives UTF-8 text
    that Excel opens with accents and £ intact. People's text is always written as
    text: nothing they typed can run as a formula (in CSV, a cell starting with
    = + - or @ gets a leading '). Nothing else changes.

    \b
    Examples:
      cmrg register --out register.xlsx
      cmrg register --out answers-2026-27.csv --round 2026-27
      cmrg register --out all-returns.xlsx --all-returns
    """
    ws = load(workspace)
    if out.suffix.lower() not in (".xlsx", ".csv"):
        fail(f"--out {out.name}: choose a file name ending in .xlsx or .csv", EXIT_INPUT)
    out_target(ws, out, force)
    try:
        path = export_answers(ws, out, round_, include_superseded=all_returns)
    except (OSError, FileCreateError) as exc:
        fail(file_error(exc, out, "written"), EXIT_INPUT)
        return
    from ..register import answers

    n = len(answers(ws, round_, all_returns))
    click.echo(f"{n} answer row(s) written to {rel(ws, path)}")
