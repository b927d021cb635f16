"""What owners correct in their contract details reaches the secretariat (issue 11.7): the ingest
output and report, cmrg status and its workbook, and the register export all list it."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from click.testing import CliRunner

from cmrg_excel.cli import cli
from cmrg_excel.kit import layout as L

from .returns import drop, filled

WANT = ("C-0001", "R1", "Owner email", "jane.example@council.gov.uk", "new.owner@council.gov.uk")
WANT_END = ("C-0001", "R1", "End date", "31/03/2028", "31/03/2029")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def sheet_rows(path, name):
    wb = openpyxl.load_workbook(path, read_only=True)
    assert name in wb.sheetnames, wb.sheetnames
    rows = [list(r) for r in wb[name].iter_rows(values_only=True)]
    return rows[next(i for i, r in enumerate(rows) if r and r[0] in ("Contract", "contract_id")):]  # from the header


@pytest.fixture
def corrected(issued):
    """C-0001's return corrects the owner's email in column C and changes the end date in column B."""
    ws, _ = issued
    data = filled(ws, "C-0001", corrections={"owner_email": "new.owner@council.gov.uk"},
                  cells={(L.CONTRACT, L.contract_cell("end_date")): "31/03/2029"})
    drop(ws, "C-0001.xlsx", data)
    result = run("ingest", "-w", ws.root)
    assert result.exit_code == 0, result.output
    return ws, result.output


def test_the_ingest_output_and_report_list_the_corrections(corrected):
    ws, output = corrected
    assert "Contract details to correct" in output
    assert "Owner email: jane.example@council.gov.uk -> new.owner@council.gov.uk" in output
    assert "End date: 31/03/2028 -> 31/03/2029" in output
    report = max(ws.outbox.glob("ingest-*.xlsx"))
    rows = sheet_rows(report, "Details to correct")
    assert rows[0][:5] == ["Contract", "Round", "Detail", "As issued", "Owner's correction"]
    assert {tuple(r[:5]) for r in rows[1:]} == {WANT, WANT_END}


def test_status_lists_the_corrections_in_the_terminal_and_its_workbook(corrected):
    ws, _ = corrected
    result = run("status", "-w", ws.root)
    assert result.exit_code == 0, result.output
    assert "Contract details to correct on the contract list (2)" in result.output
    assert "new.owner@council.gov.uk" in result.output and "31/03/2029" in result.output
    rows = sheet_rows(ws.outbox / "status-R1.xlsx", "Details to correct")
    assert {tuple(r[:5]) for r in rows[1:]} == {WANT, WANT_END}


def test_the_register_export_carries_the_corrections(corrected, tmp_path):
    ws, _ = corrected
    out = tmp_path / "register.xlsx"
    assert run("register", "--out", out, "-w", ws.root).exit_code == 0
    rows = sheet_rows(out, "Details to correct")
    assert {tuple(r[:5]) for r in rows[1:]} == {WANT, WANT_END}
    register = sheet_rows(out, "Register")
    col = register[0].index("details_to_correct")
    assert register[1][col] == ("Owner email: jane.example@council.gov.uk -> new.owner@council.gov.uk; "
                                "End date: 31/03/2028 -> 31/03/2029")
    out_csv = tmp_path / "register.csv"
    assert run("register", "--out", out_csv, "-w", ws.root).exit_code == 0
    first = next(csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8-sig"))))
    assert first["details_to_correct"] == register[1][col]


def test_a_return_without_corrections_lists_none(issued):
    ws, _ = issued
    drop(ws, "C-0002.xlsx", filled(ws, "C-0002"))
    result = run("ingest", "-w", ws.root)
    assert "Contract details to correct" not in result.output
    assert "Contract details to correct" not in run("status", "-w", ws.root).output
