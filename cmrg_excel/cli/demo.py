"""``cmrg demo``: a new folder and the demo's narration over :func:`cmrg_excel.programme.demo.run_demo`."""

from __future__ import annotations

import re
import shutil
import textwrap
import time
from pathlib import Path

import click

from ..programme import demo
from .base import command, fail, friendly_errors


@command("demo")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), required=False)
@friendly_errors
def demo_cmd(directory: Path | None) -> None:
    """Run two review rounds on built-in sample data, in a new folder.

    Uses a fictional list of 28 contracts across five directorates (from about £60k to
    £58m a year) and creates a workspace in DIRECTORY, which must be new or empty
    (default: a new cmrg-demo-<time> folder here). Then, in well under a minute:

    \b
      1. generates round 2026-27 (workbooks and email drafts);
      2. simulates the owners' returns, a few with typical mistakes (one owner
         sends another contract's workbook instead of their own);
      3. ingests them (accepted, rejected, and why);
      4. shows the corrections workbooks ingest made for the rejected returns
         of contracts' own workbooks;
      5. simulates the fixed corrections coming back, and ingests them;
      6. prints the round's status and writes reminder drafts;
      7. generates round 2027-28 pre-filled from 2026-27 (a re-review);
      8. simulates re-review returns (most answers confirmed, some changed);
      9. ingests them;
     10. writes the summary workbook, whose Progress sheet compares the rounds.

    Every step says what it produced and where to look. Open the files in Excel or
    LibreOffice to see what contract owners receive and what the committee gets. The
    simulation is seeded, so every run tells the same story.

    \b
    Examples:
      cmrg demo
      cmrg demo cmrg-practice
    """
    folder = (directory or demo.default_folder()).resolve()
    started = time.monotonic()
    try:
        demo.run_demo(folder, say=_say)
    except FileExistsError as exc:
        fail(str(exc))
        return
    click.echo(f"(demo finished in {time.monotonic() - started:.0f} s)")


def _say(text: str) -> None:
    """Print the demo's story wrapped to the terminal (at most 110 columns), each line of a step
    indented under its text. Table rows (columns two spaces apart) and lines naming a path are
    printed as they are, so they stay aligned and can be copied."""
    width = max(60, min(110, shutil.get_terminal_size((100, 24)).columns - 1))
    for line in text.split("\n"):
        body = line.lstrip(" ")
        if len(line) <= width or "  " in body or re.search(r"(^|\s)/", body):
            click.echo(line)
            continue
        lead = line[: len(line) - len(body)]
        step = re.match(r"\d+\. ", body)
        click.echo(textwrap.fill(body, width, initial_indent=lead,
                                 subsequent_indent=lead + " " * (step.end() if step else 0),
                                 break_long_words=False, break_on_hyphens=False))
