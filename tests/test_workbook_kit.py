"""One workbook kit for every workbook: people's text comes back exactly as written, in every
workbook the tool writes, and the layout's cells are where the writer put them."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from cmrg_excel import register as reg
from cmrg_excel.intake.ingest import ingest
from cmrg_excel.intake.read import extract
from cmrg_excel.issue.template import build_template
from cmrg_excel.kit import layout as L
from cmrg_excel.report.summary import SummarySettings, build_summary

from .test_generate import _spec
from .test_summary import Reg, area_pattern

# Text that a writer taking it for markup, or escaping _xHHHH_ look-alikes halfway, loses.
MARKUP = "<r>boom</r>"
CHAINED = "_x0041_x0042_"
EVIDENCE = {"1.1": MARKUP, "1.2": CHAINED, "1.3": f"a{CHAINED}x0043_b"}


def _grid(path, sheet: str) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes())).get_sheet_by_name(sheet).to_python()


def _column(grid: list[list], heading: str) -> list:
    """The values under ``heading`` in the first row that has it (a table may sit below a title)."""
    top = next(r for r, row in enumerate(grid) if heading in row)
    i = grid[top].index(heading)
    return [row[i] for row in grid[top + 1:]]


@pytest.fixture
def lookalikes(tmp_path):
    """A register holding answers whose evidence is text of those shapes, and a supplier too."""
    r = Reg(tmp_path)
    r.contract("C-0001", supplier=CHAINED, title=MARKUP)
    r.submit("C-0001", "R1", area_pattern(0), evidence_of=lambda ref: EVIDENCE.get(ref, "plain"))
    return r


def test_the_register_export_keeps_text_that_looks_like_markup_or_escapes(lookalikes, tmp_path):
    out = reg.export_answers(lookalikes.ws, tmp_path / "register.xlsx")
    grid = _grid(out, "Register")
    evidence = dict(zip(_column(grid, "ref"), _column(grid, "evidence")))
    assert {ref: evidence[ref] for ref in EVIDENCE} == EVIDENCE
    assert set(_column(grid, "supplier")) == {CHAINED} and set(_column(grid, "title")) == {MARKUP}


def test_the_summary_keeps_text_that_looks_like_markup_or_escapes(lookalikes):
    data = lookalikes.load()
    out = build_summary(data, SummarySettings(), lookalikes.ws.outbox / "summary.xlsx").path
    grid = _grid(out, "Data")
    header = next(i for i, row in enumerate(grid) if "Evidence" in row)
    rows = grid[header:]
    evidence = dict(zip(_column(rows, "Activity"), _column(rows, "Evidence")))
    assert {ref: evidence[ref] for ref in EVIDENCE} == EVIDENCE
    assert set(_column(rows, "Supplier")) - {""} == {CHAINED}


def test_the_ingest_report_keeps_file_names_that_look_like_escapes(issued):
    ws, _ = issued
    name = f"C-0001 {CHAINED}.xlsx"
    (ws.inbox / name).write_bytes(b"not a workbook")
    result = ingest(ws)
    assert result.report is not None
    assert _column(_grid(result.report, "Files"), "File") == [name]
    assert _column(_grid(result.report, "Reasons"), "File") == [name]


# --- the layout, written and read back --------------------------------------------------------
def test_every_layout_cell_of_a_generated_template_reads_back_where_the_layout_says():
    """build_template writes, extract reads: the contract details, the metadata, the answers and the
    attestation all come back from the cells kit/layout.py names, through both readers."""
    fw_spec = _spec()
    fw = fw_spec.framework
    answers = {}
    for i, act in enumerate(fw.activities):
        answers[act.ref] = {"rating": fw.scale.labels[i % len(fw.scale.labels)], "evidence": f"evidence {act.ref}",
                            "action": f"action {act.ref}", "action_owner": f"owner {act.ref}",
                            "target_date": dt.date(2027, 1, 1) + dt.timedelta(days=i),
                            "previous": "Good", "confirm": L.CONFIRM_YES}
    attestation = {"name": "Jane Example", "role": "Contract manager", "date": "2026-11-20", "confirm": L.ATTEST_YES}
    corrections = {"supplier": "Corrected Ltd", "owner_email": "new@test.gov.uk"}
    spec = _spec(answers=answers, attestation=attestation, corrections=corrections, carried_from="R0")
    data = build_template(spec)
    raw = extract(CalamineWorkbook.from_filelike(io.BytesIO(data)))
    book = openpyxl.load_workbook(io.BytesIO(data))

    c = spec.contract.as_dict()
    for f in L.CONTRACT_FIELDS:
        want = c[f.key]
        got = raw.contract[f.key]
        if f.kind == "date":
            assert got == want, f.key
        elif f.kind == "money":
            assert got == float(want), f.key
        else:
            assert got == str(want), f.key
        assert book[L.CONTRACT][L.contract_cell(f.key, L.CONTRACT_LABEL_COL)].value == f.label
    assert raw.corrections == corrections
    meta = {"issue_token": spec.token, "contract_id": c["contract_id"], "round": spec.round, "framework_id": fw.id,
            "framework_version": fw.version, "framework_hash": fw.content_hash, "layout_version": L.LAYOUT_VERSION,
            "kind": spec.kind, "generated_at": spec.generated_at}
    assert {k: raw.meta[k] for k in meta} == meta
    assert raw.meta_labels == {k: k for k in L.META_KEYS}
    assert raw.sheets[L.META] == "veryhidden"
    rows = {r.ref: r for r in raw.rows if r.ref}
    by_row = L.activity_rows(fw)
    for ref, given in answers.items():
        row = rows[ref]
        assert row.row == by_row[ref]
        for key in L.ANSWER_KEYS:
            assert row.values[key] == given[key], (ref, key)
    assert {k: raw.attestation[k] for k in ("name", "role", "confirm")} == {
        k: attestation[k] for k in ("name", "role", "confirm")}
    assert raw.attestation["date"] == dt.date(2026, 11, 20)
    sheet = book[L.ASSESSMENT]
    for col in L.ASSESS_COLUMNS:
        assert sheet[f"{col.letter}{L.ASSESS_HEADER_ROW}"].value == col.heading
