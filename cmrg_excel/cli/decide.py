"""cmrg decide: the secretariat's recorded decisions on returns, workbooks and rounds."""

from __future__ import annotations

from pathlib import Path

import click

from ..core.terminal import clip
from ..programme import decide as dec
from .base import command, friendly_errors, group, load, table, workspace_option

WAIT = click.option("--wait", "wait_seconds", type=click.FloatRange(min=0), default=10.0, show_default=True,
                    metavar="SECONDS", help="How long to wait for another cmrg run on this workspace to finish.")
ROUND = click.option("--round", "round_", metavar="ROUND",
                     help="The review round. Default: the contract's latest round.")


def _reason(ctx, param, value):
    if value is not None and not value.strip():
        raise click.BadParameter("give a reason in words (it cannot be blank)", ctx=ctx, param=param)
    return value


@group("decide")
def decide_cmd() -> None:
    """Record a decision of the review group: withdraw or reinstate a return,
    confirm one that needs a look, withdraw a workbook or a round issued by mistake.

    A file's name never decides whose return it is, and cmrg never overrules a
    person: when a return should not count, or a workbook or round was issued by
    mistake, say so here. Each decision changes the register in one step and is
    kept there with who made it (your user name and machine), when and why; nothing
    is deleted, and every decision can be seen with 'cmrg decide list'.

    \b
    Examples:
      cmrg decide withdraw PH-001 --round 2026-27 --reason "answers are GET-007's"
      cmrg decide reinstate PH-001 --reason "checked with the owner: they are PH-001's"
      cmrg decide confirm GET-007 --reason "owner renamed the file; answers are GET-007's"
      cmrg decide withdraw-workbook ASC-001 --round 2026-27 --reason "issued with --force by mistake"
      cmrg decide withdraw-round 2026-72 --reason "typed 2026-72 for 2026-27"
      cmrg decide list
    """


@decide_cmd.command("withdraw")
@click.argument("contract_id", metavar="CONTRACT")
@ROUND
@click.option("--submission", type=int, metavar="N",
              help="The return to withdraw, by its submission number (the ingest report's Submission column). "
                   "Default: the one that counts now.")
@click.option("--reason", required=True, metavar="TEXT", callback=_reason,
              help="Why: kept in the register with your user name, the machine and the time.")
@WAIT
@workspace_option
@friendly_errors
def withdraw_cmd(contract_id: str, round_: str | None, submission: int | None, reason: str, wait_seconds: float,
                 workspace: Path | None) -> None:
    """Withdraw a contract's accepted return: it no longer counts.

    It leaves the summary and the register export; the contract is outstanding
    again, so 'cmrg status' shows it and 'cmrg chase' asks the owner for a new
    return, giving the reason. The file, its answers and this decision are all kept:
    'cmrg decide reinstate' undoes it.
    """
    ws = load(workspace)
    d = dec.withdraw_return(ws, contract_id, reason, round=round_, submission_id=submission,
                            wait_seconds=wait_seconds)
    click.echo(f"Withdrew {d.contract_id}'s return of round {d.round} (submission {d.submission_id}, {d.name}, "
               f"received {d.received_at[:10]}).")
    click.echo(f"{d.contract_id} is outstanding again: 'cmrg chase --round {d.round}' drafts the reminder.")


@decide_cmd.command("reinstate")
@click.argument("contract_id", metavar="CONTRACT")
@ROUND
@click.option("--submission", type=int, metavar="N",
              help="The withdrawn return to reinstate, by its submission number. Default: the latest withdrawn.")
@click.option("--reason", required=True, metavar="TEXT", callback=_reason,
              help="Why: kept in the register with your user name, the machine and the time.")
@WAIT
@workspace_option
@friendly_errors
def reinstate_cmd(contract_id: str, round_: str | None, submission: int | None, reason: str, wait_seconds: float,
                  workspace: Path | None) -> None:
    """Reinstate a withdrawn return: it counts again.

    Refused while a newer return of the contract counts: withdraw that one first.
    """
    ws = load(workspace)
    d = dec.reinstate_return(ws, contract_id, reason, round=round_, submission_id=submission,
                             wait_seconds=wait_seconds)
    click.echo(f"Reinstated {d.contract_id}'s return of round {d.round} (submission {d.submission_id}, {d.name}): "
               "it counts again.")


@decide_cmd.command("confirm")
@click.argument("contract_id", metavar="CONTRACT")
@ROUND
@click.option("--reason", required=True, metavar="TEXT", callback=_reason,
              help="Why: kept in the register with your user name, the machine and the time.")
@WAIT
@workspace_option
@friendly_errors
def confirm_cmd(contract_id: str, round_: str | None, reason: str, wait_seconds: float,
                workspace: Path | None) -> None:
    """Confirm a return that needs a look: it stands as it was filed.

    A return whose file was named for another contract is filed by what the
    workbook proves it is, and 'cmrg status' marks it "needs a look". Once you have
    checked it holds this contract's answers, confirm it; if it does not, withdraw it.
    """
    ws = load(workspace)
    d = dec.confirm_return(ws, contract_id, reason, round=round_, wait_seconds=wait_seconds)
    click.echo(f"Confirmed {d.contract_id}'s return of round {d.round} (submission {d.submission_id}, {d.name}).")


@decide_cmd.command("withdraw-workbook")
@click.argument("contract_id", metavar="CONTRACT")
@click.option("--round", "round_", required=True, metavar="ROUND", help="The round the workbook was issued in.")
@click.option("--reason", required=True, metavar="TEXT", callback=_reason,
              help="Why: kept in the register with your user name, the machine and the time.")
@WAIT
@workspace_option
@friendly_errors
def withdraw_workbook_cmd(contract_id: str, round_: str, reason: str, wait_seconds: float,
                          workspace: Path | None) -> None:
    """Withdraw a workbook issued by mistake.

    A return made on it is refused ("withdrawn: no return is needed on it"), and it
    no longer counts in 'cmrg status' or 'cmrg chase'. If it had replaced an earlier
    workbook of the same round ('cmrg generate --force'), that one is open again.
    Refused while the contract has an accepted return in the round: withdraw the
    return first.
    """
    ws = load(workspace)
    d = dec.withdraw_workbook(ws, contract_id, round_, reason, wait_seconds=wait_seconds)
    click.echo(f"Withdrew {d.contract_id}'s workbook of round {d.round}.")
    if d.reopened:
        click.echo("The workbook it had replaced is open again: returns made on it are accepted. The file in "
                   f"outbox/{d.round}/ is the withdrawn one (it had overwritten the earlier file): the owner has the "
                   "earlier workbook from its email; send that email again if they need it.")


@decide_cmd.command("withdraw-round")
@click.argument("round_", metavar="ROUND")
@click.option("--reason", required=True, metavar="TEXT", callback=_reason,
              help="Why: kept in the register with your user name, the machine and the time.")
@WAIT
@workspace_option
@friendly_errors
def withdraw_round_cmd(round_: str, reason: str, wait_seconds: float, workspace: Path | None) -> None:
    """Withdraw a whole round issued by mistake (a mistyped round name, say).

    Every open workbook of the round is withdrawn: returns made on them are refused,
    and the round is no longer the default for 'cmrg status', 'cmrg chase' or
    'cmrg summary', nor a contract's latest round (so returns of the round before
    are accepted again). The workbook files stay in outbox/ROUND/: delete them, and
    any emails not yet sent. Refused while the round has accepted returns.
    """
    ws = load(workspace)
    d = dec.withdraw_round(ws, round_, reason, wait_seconds=wait_seconds)
    click.echo(f"Withdrew round {d.round}: {len(d.tokens)} workbook(s). Delete outbox/{d.round}/ and any emails of "
               "it not yet sent.")


@command("list")
@click.option("--contract", "contract_id", metavar="CONTRACT", help="Only this contract's decisions.")
@click.option("--round", "round_", metavar="ROUND", help="Only this round's decisions.")
@workspace_option
@friendly_errors
def list_cmd(contract_id: str | None, round_: str | None, workspace: Path | None) -> None:
    """List the decisions recorded, oldest first: when, who, what and why."""
    ws = load(workspace)
    items = dec.history(ws, contract_id, round_)
    if not items:
        click.echo("No decisions recorded.")
        return
    rows = [[d.made_at[:16].replace("T", " "), f"{d.os_user}@{d.machine}", d.action, d.contract_id or "", d.round or "",
             d.submission_id or "", clip(d.reason, 60)] for d in items]
    click.echo(table(rows, ["When (UTC)", "Who", "Decision", "Contract", "Round", "Submission", "Why"]))


decide_cmd.add_command(list_cmd)
