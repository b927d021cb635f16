"""cmrg simulate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..programme.simulate import is_re_review, open_workbooks, simulate_re_reviews, simulate_returns
from .base import EXIT_INPUT, command, fail, friendly_errors, load, rel, workspace_option


@command("simulate")
@click.option("--round", "round_", required=True, metavar="ROUND",
              help="The round whose issued workbooks to fill, e.g. 2026-27.")
@click.option("--mistakes/--no-mistakes", default=True, show_default=True,
              help="Include the mistakes owners make (a pasted rating, a missing sign-off, one owner sending "
                   "another contract's workbook; on a re-review, a rating raised two levels without new evidence).")
@click.option("--seed", type=int, default=2026, show_default=True, metavar="N",
              help="A different N gives a different, but repeatable, set of answers.")
@workspace_option
@friendly_errors
def simulate_cmd(round_: str, mistakes: bool, seed: int, workspace: Path | None) -> None:
    """Fill a round's workbooks with practice returns, as owners would, into inbox/.

    For trying the tool out before real returns arrive (in a practice workspace:
    'cmrg init practice --sample'): every open workbook of the round is filled in with
    made-up but realistic answers (ratings that vary by area, evidence, improvement
    actions, a signed attestation) and saved into inbox/, ready for 'cmrg ingest'. On
    a re-review round, most carried-forward answers are confirmed and some changed.

    Practice returns say so: each file is named 'PRACTICE <contract>.xlsx' and is
    signed off in the role "Practice return made by cmrg simulate", so once ingested
    the register shows them for what they are. They are made-up answers: do not run
    this in a workspace whose register holds real returns.

    \b
    Examples:
      cmrg simulate --round 2026-27
      cmrg simulate --round 2026-27 --no-mistakes --seed 7
    """
    ws = load(workspace)
    waiting = open_workbooks(ws, round_)
    if not waiting:
        fail(f"round {round_} has no workbook waiting for a return: every one has been answered or replaced.",
             EXIT_INPUT)
    today = dt.date.today()
    if is_re_review(ws, round_):
        files, counts = simulate_re_reviews(ws, round_, rng_seed=seed, today=today, mistakes=mistakes, practice=True)
        click.echo(f"Round {round_}: {len(files)} practice re-review return(s) in {rel(ws, ws.inbox)}/: "
                   f"{counts['re-confirmed']} answers re-confirmed, {counts['changed']} changed, "
                   f"{counts['new']} answered afresh"
                   + (" (one rating raised two levels with no new evidence)." if mistakes else "."))
    else:
        files = simulate_returns(ws, round_, rng_seed=seed, today=today, mistakes=mistakes, practice=True)
        click.echo(f"Round {round_}: {len(files)} practice return(s) in {rel(ws, ws.inbox)}/"
                   + (", three with the mistakes owners make (a pasted rating, a missing sign-off, and one owner "
                      "sending another contract's workbook instead of their own)." if mistakes and waiting >= 4
                      else "."))
    for f in files[:5]:
        click.echo(f"  {rel(ws, f)}")
    if len(files) > 5:
        click.echo(f"  ... and {len(files) - 5} more")
    click.secho("These are made-up answers for practice, named PRACTICE and signed 'Practice return made by cmrg "
                "simulate': ingesting them puts them in this workspace's register.", fg="yellow")
    click.echo("\nNext: cmrg ingest")
