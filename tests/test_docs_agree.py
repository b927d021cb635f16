"""The command line, README and docs say the same thing: every command registered is listed in
`cmrg --help` and README's command list, in the same order and words; every command's --help is
a manual with examples; and the report workbooks have the sheets their help and docs name."""

from __future__ import annotations

import re
from pathlib import Path

import click
import openpyxl
import pytest
from click.testing import CliRunner

from cmrg_excel.cli import cli
from cmrg_excel.cli.base import HELP, CmrgGroup
from cmrg_excel.intake.ingest import IngestResult, write_ingest_report
from cmrg_excel.report.summary import SHEETS as SUMMARY_SHEETS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
INGEST_DOC = (ROOT / "docs" / "ingest.md").read_text(encoding="utf-8")
LISTED = re.compile(r"^  cmrg (\w+)\b.*$", re.M)


def _help(*args: str) -> str:
    res = CliRunner().invoke(cli, [*args, "--help"], terminal_width=100)
    assert res.exit_code == 0, res.output
    return res.output


def _readme_commands() -> list[str]:
    section = README.split("\n## Commands\n", 1)
    assert len(section) == 2, "README.md has no '## Commands' section"
    block = re.search(r"```\n(.*?)```", section[1], re.S)
    assert block, "README's Commands section has no command list"
    return block.group(1).splitlines()


def test_every_registered_command_is_listed_in_help_and_readme_in_one_order():
    registered = sorted(cli.commands)
    assert sorted(CmrgGroup.ORDER) == registered, "CmrgGroup.ORDER and the registered commands differ"
    in_help = LISTED.findall(HELP)
    assert in_help == CmrgGroup.ORDER, "the command list in cmrg --help (cli/base.py HELP) is out of step"
    listed = _readme_commands()
    assert [m.group(1) for line in listed if (m := LISTED.match(line))] == CmrgGroup.ORDER
    help_block = HELP.split("A review cycle, in commands:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert listed == help_block, "README's command list must be the one cmrg --help prints"
    shown = _help()
    assert [n for n in re.findall(r"^  (\w+)  ", shown.split("Commands:")[1], re.M)] == CmrgGroup.ORDER


def _examples(text: str) -> tuple[str, list[str]] | None:
    """(the manual above the examples, the example command lines) of a --help text."""
    heading = re.search(r"^  Examples?:$", text, re.M)
    if not heading:
        return None
    lines = text[heading.end():].split("Options:", 1)[0].splitlines()
    return text[:heading.start()], [line.strip() for line in lines if line.strip().startswith("cmrg ")]


@pytest.mark.parametrize("name", CmrgGroup.ORDER)
def test_every_command_has_a_manual_with_examples_that_run_that_command(name):
    """Every command's --help has examples of it (a group's commands, decide and meeting, in the
    group's manual or their own); every option an example uses is one that command has."""
    command = cli.commands[name]
    subs = list(command.commands) if isinstance(command, click.Group) else [None]
    group_examples = (_examples(_help(name)) or ("", []))[1]
    for sub in subs:
        path = (name,) if sub is None else (name, sub)
        own = _help(*path)
        found = group_examples + (((_examples(own) or ("", []))[1]) if sub is not None else [])
        mine = [c for c in found if c.split()[1:1 + len(path)] == list(path)]
        assert mine, f"cmrg {' '.join(path)} --help has no example of it"
        for option in re.findall(r"(--[a-z][a-z-]+)", " ".join(mine)):
            assert option in own, f"cmrg {' '.join(path)} has no {option} (used in its example)"
    assert f"cmrg {name}" in README, f"README.md never shows cmrg {name}"


def test_the_ingest_report_has_the_sheets_its_help_and_docs_name(small_workspace):
    ws = small_workspace
    path = write_ingest_report(ws, IngestResult([], None, "2026-11-20T10:00:00+00:00", 0.0))
    sheets = openpyxl.load_workbook(path, read_only=True).sheetnames
    named = re.search(r"\(sheets ([^)]*)\)", " ".join(_help("ingest").split()))
    assert named, "cmrg ingest --help does not name the report's sheets"
    assert re.split(r", | and ", named.group(1)) == sheets, "cmrg ingest --help names other sheets"
    doc = re.search(r"`outbox/ingest-<time>\.xlsx` \(sheets ([^)]*)\)", " ".join(INGEST_DOC.split()))
    assert doc and re.findall(r"\*([^*]+)\*", doc.group(1)) == sheets, "docs/ingest.md names other sheets"


def test_the_summary_has_the_sheets_its_help_and_readme_name():
    text = " ".join(_help("summary").split())
    positions = [text.find(sheet) for sheet in SUMMARY_SHEETS]
    assert -1 not in positions, [s for s, p in zip(SUMMARY_SHEETS, positions) if p < 0]
    assert positions == sorted(positions), "cmrg summary --help names the sheets in another order"
    readme = " ".join(README.split())
    for sheet in SUMMARY_SHEETS:
        assert f"*{sheet}*" in readme or f"summary's {sheet}" in readme, f"README does not explain the {sheet} sheet"
