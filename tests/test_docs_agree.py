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


def _named_sheets(text: str) -> tuple[list[str], list[str]]:
    """(every sheet, the sheets only some runs have) as '(sheets A, B and C; B only when ...)' names them."""
    named = re.search(r"\(sheets ([^;)]*);? ?([^)]*) only when", text)
    assert named, "no '(sheets ...; ... only when ...)' list"
    split = lambda words: [w.strip("*") for w in re.split(r", | and ", words)]  # noqa: E731
    return split(named.group(1)), split(named.group(2))


def _sheets(path: Path) -> list[str]:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return wb.sheetnames
    finally:
        wb.close()


def test_the_ingest_report_has_the_sheets_its_help_and_docs_name(small_workspace):
    """The report of a run with an upgrade, a corrections workbook and a detail to correct has
    every sheet the help and docs/ingest.md name, in their order; a run with none of those has
    every sheet but the ones they say come only when a run has any."""
    from cmrg_excel.intake.corrections import Correction
    from cmrg_excel.intake.ingest import FileOutcome
    from cmrg_excel.register.details import DetailCorrection

    ws = small_workspace
    started = "2026-11-20T10:00:00+00:00"
    upgraded = FileOutcome("inbox/a.xlsx", "a.xlsx", "accepted", contract_id="C-001", round="2026-27",
                           received_at=started, mapping={"1.1": "1.1", "1.2": "1.3"}, upgraded_from="1.0",
                           details=[DetailCorrection("C-001", "2026-27", "owner_email", "Owner email", "a@x.gov.uk",
                                                     "b@x.gov.uk")])
    made = Correction("C-002", "2026-27", 7, ws.outbox / "c.xlsx", "outbox/c.xlsx", "t", ("a fix",), "1.1")
    full = _sheets(write_ingest_report(ws, IngestResult([upgraded], None, started, 0.0, corrections=[made])))
    plain = _sheets(write_ingest_report(ws, IngestResult([], None, "2026-11-20T10:01:00+00:00", 0.0)))
    for source, text in [("cmrg ingest --help", " ".join(_help("ingest").split())),
                         ("docs/ingest.md", " ".join(INGEST_DOC.split()))]:
        every, sometimes = _named_sheets(text)
        assert every == full, f"{source} names other sheets than a full run's report has"
        assert [s for s in every if s not in sometimes] == plain, f"{source}: a plain run's report has other sheets"


def test_the_summary_has_the_sheets_its_help_and_readme_name():
    text = " ".join(_help("summary").split())
    positions = [text.find(sheet) for sheet in SUMMARY_SHEETS]
    assert -1 not in positions, [s for s, p in zip(SUMMARY_SHEETS, positions) if p < 0]
    assert positions == sorted(positions), "cmrg summary --help names the sheets in another order"
    readme = " ".join(README.split())
    for sheet in SUMMARY_SHEETS:
        assert f"*{sheet}*" in readme or f"summary's {sheet}" in readme, f"README does not explain the {sheet} sheet"
