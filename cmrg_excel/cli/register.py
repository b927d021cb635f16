"""cmrg register."""

from __future__ import annotations

from pathlib import Path

import click

from ..register import export_answers
from . import EXIT_INPUT, cli, fail, friendly_errors, load, rel, workspace_option


@cli.command("register")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Where to write the register: a file ending .xlsx (an Excel table) or .csv.")
@click.option("--round", "round_", metavar="ROUND", help="Only this review round.")
@click.option("--all-returns", is_flag=True,
              help="Include returns replaced by a newer one (marked superseded), not only the current ones.")
@workspace_option
@friendly_errors
def register_cmd(out: Path, round_: str | None, all_returns: bool, workspace: Path | None) -> None:
    """Export the master register of accepted answers.

    One row per contract, round and key activity: the contract's details, the area and
    activity, the rating and its score (recomputed from the rating), the evidence, any
    improvement action with its owner and target date, and where the answer came from
    (submission, file SHA-256, sheet and cell, when it was received, who signed it off).

    .xlsx gives an Excel Table with filters and a frozen header; .csv gives UTF-8 text
    that Excel opens with accents and £ intact. People's text is always written as
    text: nothing they typed can run as a formula (in CSV, a cell starting with
    = + - or @ gets a leading ').

    \b
    Examples:
      cmrg register --out register.xlsx
      cmrg register --out r1.csv --round 2026-27
    """
    ws = load(workspace)
    if out.suffix.lower() not in (".xlsx", ".csv"):
        fail(f"{out.name}: choose a file name ending in .xlsx or .csv", EXIT_INPUT)
    path = export_answers(ws, out, round_, include_superseded=all_returns)
    from ..register import answers

    n = len(answers(ws, round_, all_returns))
    click.echo(f"{n} answer row(s) written to {rel(ws, path)}")
