"""Every --out refuses a file cmrg manages, and any existing file without --force (issue 11.13)."""

from __future__ import annotations

import hashlib

import pytest
from click.testing import CliRunner

from cmrg_excel.cli import cli
from cmrg_excel.core.benefits import FILE_NAME as BENEFITS_FILE
from cmrg_excel.core.workspace import BENEFITS_NAME, FINDINGS_NAME, PLAN_NAME
from cmrg_excel.issue.plan_workbook import PLAN_WORKBOOK
from cmrg_excel.report.findings import FILE_NAME as FINDINGS_FILE


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def test_the_workspace_names_the_files_of_the_stages_above_it():
    assert (FINDINGS_NAME, PLAN_NAME, BENEFITS_NAME) == (FINDINGS_FILE, PLAN_WORKBOOK, BENEFITS_FILE)


def managed_targets(ws):
    issued = next((ws.outbox / "R1").glob("*.xlsx"))
    return {
        "the contract list": ws.contracts_path,
        "a workbook issued in round R1": issued,
        "inbox": ws.inbox / "new.xlsx",
        "inbox (rejected)": ws.rejected / "old.xlsx",
        "archive": ws.archive / "R1" / "C-0001" / "a.xlsx",
        "benefits log": ws.root / BENEFITS_FILE,
        "findings": ws.root / FINDINGS_FILE,
        "review plan": ws.outbox / PLAN_WORKBOOK,
    }


@pytest.mark.parametrize("command", [["register", "--out"], ["summary", "--round", "R1", "--out"]])
def test_out_never_replaces_a_file_cmrg_manages_even_with_force(issued, command):
    ws, _ = issued
    for what, target in managed_targets(ws).items():
        before = digest(target)
        result = run(*command, target, "--force", "-w", ws.root)
        assert result.exit_code == 1, (what, result.output)
        assert "cmrg keeps" in result.output and "choose another --out" in result.output, result.output
        assert "Traceback" not in result.output
        assert digest(target) == before, what


def test_register_out_at_the_contract_list_leaves_it_whole(issued):
    ws, _ = issued
    before = digest(ws.contracts_path)
    result = run("register", "--out", ws.contracts_path, "-w", ws.root)
    assert result.exit_code == 1 and "is the contract list" in result.output
    assert digest(ws.contracts_path) == before


@pytest.mark.parametrize("command, name", [(["register", "--out"], "answers.csv"),
                                           (["summary", "--round", "R1", "--out"], "pack.xlsx")])
def test_out_replaces_an_existing_file_only_with_force(issued, tmp_path, command, name):
    ws, _ = issued
    target = tmp_path / "elsewhere" / name
    target.parent.mkdir()
    target.write_bytes(b"someone's work")
    result = run(*command, target, "-w", ws.root)
    assert result.exit_code == 1 and "already exists" in result.output and "--force" in result.output
    assert target.read_bytes() == b"someone's work"
    result = run(*command, target, "--force", "-w", ws.root)
    if command[0] == "summary":  # no accepted returns yet: the summary has nothing to say, and says so
        assert result.exit_code == 1 and "Traceback" not in result.output
    else:
        assert result.exit_code == 0, result.output
        assert target.read_bytes() != b"someone's work"


def test_report_out_never_replaces_a_managed_file(issued):
    ws, _ = issued
    before = digest(ws.contracts_path)
    target = ws.contracts_path.with_suffix(".docx")
    target.write_bytes(b"x")
    ws_cfg = ws.root / "cmrg.toml"
    result = run("report", "--from", "01/04/2026", "--to", "30/09/2026", "--out", ws.inbox / "paper.docx",
                 "--force", "-w", ws.root)
    assert result.exit_code == 1 and "cmrg keeps" in result.output
    assert not (ws.inbox / "paper.docx").exists() and digest(ws.contracts_path) == before and ws_cfg.exists()
