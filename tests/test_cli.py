"""The command line, driven through click's CliRunner as a user would."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cmrg_excel.cli import cli
from cmrg_excel.core.contracts import read_contracts
from cmrg_excel.kit.contract_list import write_contract_list

from .conftest import make_contract


def run(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_help_reads_like_a_manual():
    out = run("--help").output
    assert "A review cycle, in commands" in out and "Exit codes" in out
    names = [line.split()[0] for line in out.split("Commands:")[1].strip().splitlines()]
    assert names[:2] == ["init", "generate"] or names.index("init") < names.index("generate")
    gen = run("generate", "--help").output
    assert "--round" in gen and "--skip-invalid" in gen and "Examples:" in gen


def test_init_then_generate(tmp_path):
    res = run("init", str(tmp_path / "ws"), "--council", "Kentish Town Council")
    assert res.exit_code == 0, res.output
    assert "made cmrg.toml" in res.output and "made contracts.xlsx" in res.output
    assert 'name = "Kentish Town Council"' in (tmp_path / "ws" / "cmrg.toml").read_text()
    again = run("init", str(tmp_path / "ws"))
    assert "already a workspace; nothing changed" in again.output
    write_contract_list(tmp_path / "ws" / "contracts.xlsx", [make_contract("C-1"), make_contract("C-2")])
    res = run("generate", "--round", "R1", "--workspace", str(tmp_path / "ws"))
    assert res.exit_code == 0, res.output
    assert "Round R1: 2 workbook(s) in outbox/R1/" in res.output
    assert (tmp_path / "ws" / "outbox" / "R1" / "C-2.xlsx").exists()


def test_workspace_from_environment_variable(issued):
    ws, _ = issued
    res = run("generate", "--round", "R2", "--only", "C-0001,C-0003", env={"CMRG_WORKSPACE": str(ws.root)})
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (ws.outbox / "R2").glob("*.xlsx")) == ["C-0001.xlsx", "C-0003.xlsx"]


def test_errors_are_one_clear_line_with_exit_code(tmp_path, issued):
    res = run("generate", "--round", "R1", "--workspace", str(tmp_path / "nowhere"))
    assert res.exit_code == 1
    assert "is not a cmrg workspace" in res.output and "Traceback" not in res.output
    ws, _ = issued
    res = run("generate", "--round", "R1", "-w", str(ws.root))
    assert res.exit_code == 1 and "already has workbooks for 3" in res.output and "--force" in res.output
    res = run("generate", "-w", str(ws.root))
    assert res.exit_code == 2 and "Missing option '--round'" in res.output


def test_bad_contract_list_lists_every_problem(small_workspace):
    ws = small_workspace
    rows = list(read_contracts(ws.contracts_path).contracts)
    write_contract_list(ws.contracts_path, rows + [make_contract("C-0001"), make_contract("C-9", risk="Severe")])
    res = run("generate", "--round", "R1", "-w", str(ws.root))
    assert res.exit_code == 1
    assert "row 5, column Contract ID: duplicate contract ID: row 2 already has it" in res.output
    assert "row 6, column Risk: risk must be Low, Medium or High" in res.output
    res = run("generate", "--round", "R1", "-w", str(ws.root), "--skip-invalid")
    assert res.exit_code == 0 and "Skipped 2 row(s)" in res.output


@pytest.mark.slow
def test_demo_runs_two_rounds_end_to_end(tmp_path):
    import openpyxl

    res = run("demo", str(tmp_path / "demo"))
    assert res.exit_code == 0, res.output
    root = tmp_path / "demo"
    assert len(list((root / "outbox" / "2026-27").glob("*.xlsx"))) == 28
    assert len(list((root / "outbox" / "2026-27").glob("*.eml"))) == 28
    story = [line for line in res.output.splitlines() if "  " not in line.strip() and " /" not in line]
    assert story and max(len(line) for line in story) <= 110  # wrapped to the terminal (paths and tables kept whole)
    out = " ".join(res.output.split())  # the story is wrapped to the terminal: compare words, not line breaks
    for step in range(1, 11):
        assert f"{step:>2}. " in out, step
    # The workbook sent under another contract's file name is filed by its token and needs a look; the
    # review group withdraws it (its answers are the other contract's), so both contracts stay outstanding.
    assert "25 accepted, 2 rejected" in out and "2 accepted, 0 rejected, 2 linked" in out
    assert "is not a rating" in out and "accepted, needs a look" in out and "cmrg decide withdraw" in out
    assert len(list((root / "outbox" / "2026-27" / "corrections").glob("*.xlsx"))) == 2
    assert "outstanding 2" in out and "the rating rose from" in out.split(" 9. ")[1]
    summary = root / "outbox" / "summary-2027-28.xlsx"
    assert f"Summary workbook: {summary}" in out
    progress = openpyxl.load_workbook(summary, read_only=True)["Progress"]
    firsts = [row[0] for row in progress.iter_rows(values_only=True) if row and row[0] is not None]
    assert "2026-27" in firsts and "2027-28" in firsts
    assert "How the answers were given in round 2027-28" in firsts
    res = run("demo", str(tmp_path / "demo"))
    assert res.exit_code == 1 and "not empty" in res.output


def test_init_with_sample_contracts(tmp_path):
    res = run("init", str(tmp_path / "ws"), "--sample")
    assert res.exit_code == 0 and "28 fictional sample contracts" in res.output
    assert len(read_contracts(tmp_path / "ws" / "contracts.xlsx").contracts) == 28


def test_round_and_out_options_are_checked_not_quietly_ignored(tmp_path):
    """--round naming a round never issued is an error (not 'nothing to do', exit 0), and the summary
    refuses a file name that is not .xlsx rather than writing a workbook called s.txt."""
    ws = tmp_path / "ws"
    assert run("init", str(ws), "--sample").exit_code == 0
    assert run("generate", "--round", "2026-27", "--only", "ASC-001", "-w", str(ws)).exit_code == 0
    for args in (["corrections", "--round", "nope"], ["register", "--round", "nope", "--out", str(tmp_path / "x.csv")]):
        res = run(*args, "-w", str(ws))
        assert res.exit_code == 1, (args, res.output)
        assert "round 'nope' has not been issued; rounds issued: 2026-27" in res.output
    assert not (tmp_path / "x.csv").exists()
    res = run("summary", "--out", str(tmp_path / "s.txt"), "-w", str(ws))
    assert res.exit_code == 1 and "choose a file name ending in .xlsx" in res.output
    assert not (tmp_path / "s.txt").exists()


def test_generate_and_corrections_wait_for_a_run_using_the_workspace(tmp_path):
    """generate and corrections change the issue ledger: while another run (an ingest, say) holds
    the workspace they wait for it, and only then write anything."""
    import threading
    import time

    from cmrg_excel.core.workspace import open_workspace

    root = tmp_path / "ws"
    assert run("init", str(root), "--sample").exit_code == 0
    ws = open_workspace(root)
    held, released = threading.Event(), []

    def hold():
        with ws.lock("ingest"):
            held.set()
            time.sleep(1.0)
            released.append(time.time())

    for args, made in ((["generate", "--round", "2026-27", "--only", "ASC-001"], root / "outbox" / "2026-27"),
                       (["corrections", "--round", "2026-27"], None)):
        held.clear()
        released.clear()
        t = threading.Thread(target=hold)
        t.start()
        held.wait(5)
        res = run(*args, "-w", str(root))
        finished = time.time()
        t.join()
        assert res.exit_code == 0, res.output
        assert released and finished >= released[0]  # it ran only once the other run let go
        if made is not None:
            assert (made / "ASC-001.xlsx").stat().st_mtime >= released[0] - 0.01


def test_output_piped_into_a_program_that_stops_reading_ends_quietly(tmp_path, monkeypatch):
    """'cmrg demo | head': the pipe closes; cmrg stops with exit 1 and no traceback or file error."""
    from cmrg_excel.programme import demo

    def closed_pipe(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(demo, "run_demo", closed_pipe)
    res = CliRunner().invoke(cli, ["demo", str(tmp_path / "d")])
    assert res.exit_code == 1, (res.exit_code, res.output)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output and "could not be read or written" not in res.output
