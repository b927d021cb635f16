"""cmrg demo."""

from __future__ import annotations

from pathlib import Path

import click

from .. import demo
from ..generate import generate_round
from . import cli, fail, friendly_errors, rel


@cli.command("demo")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), required=False)
@friendly_errors
def demo_cmd(directory: Path | None) -> None:
    """Run a review cycle on built-in sample data, in a new folder.

    Uses a fictional list of 28 contracts across five directorates (from about £60k to
    £58m a year). It creates a workspace in DIRECTORY (default: a new cmrg-demo-<time>
    folder here) and generates the round's workbooks. Open the files it lists in Excel
    or LibreOffice to see what contract owners receive.
    """
    folder = (directory or demo.default_folder()).resolve()
    try:
        ws = demo.setup(folder)
    except FileExistsError as exc:
        fail(str(exc))
        return
    click.secho(f"Demo workspace: {ws.root}", bold=True)
    click.echo(f"  contract list: {rel(ws, ws.contracts_path)} (28 fictional contracts)")
    result = generate_round(ws, demo.FIRST_ROUND, eml=True)
    click.echo(f"\n1. Generated round {result.round}: {len(result.files)} workbooks and email drafts in "
               f"{rel(ws, result.folder)}/")
    click.echo(f"   e.g. {rel(ws, result.files[0].path)}")
    click.echo(f"\nTry it yourself: cd {ws.root} and run 'cmrg --help'.")
