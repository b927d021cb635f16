"""Options at the edges get a sentence, never a traceback, and nothing is written (issue 17.9, 17.11)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cmrg_excel.cli import cli


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def files_of(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("args", [
    ["plan", "--from", "31/12/9999"],
    ["plan", "--from", "01/01/0001"],
    ["report", "--from", "01/01/0001", "--to", "31/12/2026"],
    ["status", "--deadline", "31/12/9999"],
    ["chase", "--deadline", "01/01/0001"],
    ["generate", "--round", "R1", "--planned", "12/9999"],
])
def test_dates_far_outside_a_programme_are_usage_errors(small_workspace, args):
    ws = small_workspace
    before = files_of(ws.root)
    result = run(*args, "-w", ws.root)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "2000" in result.output and "2099" in result.output
    assert files_of(ws.root) == before


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_a_wait_that_is_not_a_number_of_seconds_is_a_usage_error(small_workspace, value):
    result = run("ingest", "-w", small_workspace.root, "--wait", value)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--wait" in result.output


@pytest.mark.parametrize("command", [["generate", "--round", "R1"], ["corrections"]])
@pytest.mark.parametrize("only", ["", " , ,"])
def test_an_only_that_names_no_contract_is_a_usage_error(small_workspace, command, only):
    ws = small_workspace
    before = files_of(ws.root)
    result = run(*command, "--only", only, "-w", ws.root)
    assert result.exit_code == 2, result.output
    assert "--only names no contract" in result.output
    assert files_of(ws.root) == before
