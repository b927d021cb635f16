"""``cmrg init``: its options and output over :func:`cmrg_excel.programme.init.init_workspace`."""

from __future__ import annotations

from pathlib import Path

import click

from ..core.workspace import PLACEHOLDER_EMAIL, is_placeholder_email
from ..programme.init import init_workspace
from .base import command, friendly_errors


@command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--council", default="Example Council", show_default=True,
              help="Council name shown on every workbook and report.")
@click.option("--return-email", default=PLACEHOLDER_EMAIL, show_default=True,
              help="Where contract owners send their completed workbooks; also the sender of the email drafts.")
@click.option("--sample", is_flag=True,
              help="Fill a new contract list with the 28 fictional sample contracts, to practise on.")
@friendly_errors
def init_cmd(directory: Path, council: str, return_email: str, sample: bool) -> None:
    """Create a workspace in DIRECTORY (default: the current folder).

    \b
    It makes:
      cmrg.toml       settings, every one explained in a comment
      contracts.xlsx  the contract list to fill in (one row per contract)
      inbox/          save returned workbooks here, then run 'cmrg ingest'
      outbox/         generated workbooks, emails and reports appear here
      archive/        accepted returns, kept exactly as received
      frameworks/     optional custom framework definitions

    Existing files are never overwritten, so running it again is safe; --council and
    --return-email only fill in a new cmrg.toml (change an existing one in a text
    editor).

    \b
    Examples:
      cmrg init cmrg --council "Wessex Council" --return-email cmrg@wessex.gov.uk
      cmrg init practice --sample
    """
    ws, made = init_workspace(directory, council=council, return_email=return_email)
    if sample and ws.contracts_path in made:
        from ..programme.demo import sample_contracts
        from ..kit.contract_list import write_contract_list

        write_contract_list(ws.contracts_path, sample_contracts())
    if made:
        click.echo(f"Workspace ready in {ws.root}")
        for path in made:
            click.echo(f"  made {path.relative_to(ws.root)}{'/' if path.is_dir() else ''}")
    else:
        click.echo(f"{ws.root} is already a workspace; nothing changed.")
    if sample and ws.contracts_path in made:
        click.echo("  contracts.xlsx holds the 28 fictional sample contracts")
    if is_placeholder_email(ws.config.return_email):
        click.secho(f"\nWarning: the return address is the placeholder {ws.config.return_email}: set return_email "
                    "under [council] in cmrg.toml (or run init with --return-email) before generating workbooks.",
                    fg="red", bold=True, err=True)
    click.echo("\nNext: fill in contracts.xlsx, check cmrg.toml, then run: cmrg generate --round 2026-27")
