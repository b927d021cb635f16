"""The traps a newcomer falls into on a first run (issue 15, item 6), one test each."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner

from cmrg_excel.cli import cli
from cmrg_excel.core.contracts import read_contracts
from cmrg_excel.core.workspace import ENV_VAR, open_workspace
from cmrg_excel.issue.generate import generate_round
from cmrg_excel.kit.contract_list import write_contract_list
from cmrg_excel.programme.init import init_workspace

from .conftest import make_contract
from .returns import drop, filled


def run(*args, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


def test_generating_with_the_placeholder_return_address_warns_loudly(tmp_path):
    ws, _ = init_workspace(tmp_path / "ws", council="Test Council", password="pw")  # no --return-email
    write_contract_list(ws.contracts_path, [make_contract("C-0001")])
    made = run("init", tmp_path / "other")
    assert made.exit_code == 0 and "Warning: the return address is the placeholder cmrg@example.gov.uk" in made.output
    res = run("generate", "--round", "R1", "-w", ws.root)
    assert res.exit_code == 0, res.output
    assert "Warning: the return address is cmrg@example.gov.uk, a placeholder" in res.output
    assert "issue them again with --force before sending" in res.output
    # a real address: no warning
    toml = (ws.root / "cmrg.toml").read_text(encoding="utf-8").replace("cmrg@example.gov.uk", "cmrg@wessex.gov.uk")
    (ws.root / "cmrg.toml").write_text(toml, encoding="utf-8")
    res = run("generate", "--round", "R2", "-w", ws.root)
    assert res.exit_code == 0 and "placeholder" not in res.output


def test_a_command_run_inside_a_workspace_folder_finds_the_workspace_above(issued, monkeypatch):
    ws, _ = issued
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.chdir(ws.outbox / "R1")
    res = run("status")
    assert res.exit_code == 0, res.output
    assert "Issued 3" in res.output and "not a cmrg workspace" not in res.output
    # outside any workspace it still says what to do
    monkeypatch.chdir(ws.root.parent)
    res = run("status")
    assert res.exit_code == 1 and "is not a cmrg workspace" in res.output


def test_workspace_before_the_command_name_works_as_after_it(issued, monkeypatch):
    ws, _ = issued
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.chdir(ws.root.parent)
    before, after = run("--workspace", ws.root, "status"), run("status", "--workspace", ws.root)
    assert before.exit_code == after.exit_code == 0, before.output
    assert before.output == after.output
    assert run("-w", ws.root, "status").output == after.output
    # the command's own option wins over the group's
    other, _ = init_workspace(ws.root.parent / "other", council="Other", return_email="x@test.gov.uk", password="pw")
    res = run("-w", ws.root, "status", "-w", other.root)
    assert res.exit_code == 1 and "no workbooks have been issued yet" in res.output, res.output


def test_plan_and_generate_treat_bad_contract_list_rows_alike(small_workspace):
    ws = small_workspace
    rows = list(read_contracts(ws.contracts_path).contracts)
    write_contract_list(ws.contracts_path, rows + [make_contract("C-0009", risk="Severe")])
    plan = run("plan", "-w", ws.root, "--from", "01/12/2026")
    gen = run("generate", "--round", "R1", "-w", ws.root)
    assert plan.exit_code == gen.exit_code == 1
    problem = "row 5, column Risk: risk must be Low, Medium or High (found 'Severe')"
    assert problem in plan.output and problem in gen.output
    assert "nothing was planned" in plan.output and "nothing was generated" in gen.output
    assert not (ws.outbox / "review-plan.xlsx").exists()
    plan = run("plan", "-w", ws.root, "--from", "01/12/2026", "--skip-invalid")
    gen = run("generate", "--round", "R1", "-w", ws.root, "--skip-invalid")
    assert plan.exit_code == gen.exit_code == 0, plan.output
    assert "Skipped 1 row(s) of the contract list with problems:" in plan.output
    assert "Skipped 1 row(s) of the contract list with problems:" in gen.output
    assert problem in plan.output and problem in gen.output


def test_an_ingest_of_an_empty_inbox_writes_no_report(issued):
    ws, _ = issued
    res = run("ingest", "-w", ws.root)
    assert res.exit_code == 0, res.output
    assert "No returns waiting in inbox/." in res.output and "Report:" not in res.output
    assert list(ws.outbox.glob("ingest-*.xlsx")) == []


def test_prefill_says_how_many_were_pre_filled_and_warns_of_open_returns(issued):
    from cmrg_excel.intake.ingest import ingest

    ws, _ = issued
    drop(ws, "C-0001.xlsx", filled(ws, "C-0001"))
    assert [f.outcome for f in ingest(ws).files] == ["accepted"]
    res = run("generate", "--round", "R2", "--prefill-from", "R1", "-w", ws.root)
    assert res.exit_code == 0, res.output
    assert ("Pre-filled with R1's accepted answers: 1 of 3 workbook(s); the other 2 had no accepted return in R1 "
            "and start blank.") in res.output
    assert "Warning: 2 contract(s) still have an open return in R1 (not yet accepted)" in res.output
    assert "C-0002, C-0003" in res.output


def test_the_prefill_line_when_every_workbook_is_pre_filled(issued):
    from cmrg_excel.intake.ingest import ingest

    ws, _ = issued
    for cid in ("C-0001", "C-0002", "C-0003"):
        drop(ws, f"{cid}.xlsx", filled(ws, cid))
    ingest(ws)
    generate = generate_round(open_workspace(ws.root), "R2", prefill_from="R1", today=dt.date(2026, 12, 1))
    assert generate.prefilled == 3 and generate.prefill_open == []


def test_simulate_fills_practice_returns_that_say_so(issued):
    """'cmrg simulate' gives a newcomer returns to practise on: every open workbook filled as an
    owner would, into inbox/, named PRACTICE and signed off as practice, and ingest accepts them."""
    from cmrg_excel import register as reg

    ws, _ = issued
    res = run("simulate", "--round", "R1", "-w", ws.root)
    assert res.exit_code == 0, res.output
    assert "Round R1: 3 practice return(s) in inbox/." in res.output and "Next: cmrg ingest" in res.output
    names = sorted(p.name for p in ws.inbox.glob("*.xlsx"))
    assert names == ["PRACTICE C-0001.xlsx", "PRACTICE C-0002.xlsx", "PRACTICE C-0003.xlsx"]
    res = run("ingest", "-w", ws.root)
    assert res.exit_code == 0 and "3 accepted" in res.output, res.output
    conn = reg.open_register(ws)
    try:
        roles = {r[0] for r in conn.execute("SELECT attested_role FROM submissions WHERE outcome='accepted'")}
    finally:
        conn.close()
    assert roles == {"Practice return made by cmrg simulate"}
    # nothing left to fill: it says so rather than writing nothing quietly
    res = run("simulate", "--round", "R1", "-w", ws.root)
    assert res.exit_code == 1 and "no workbook waiting for a return" in res.output
    assert run("simulate", "--round", "R9", "-w", ws.root).exit_code == 1
