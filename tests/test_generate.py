"""The generated self-assessment workbooks, opened with openpyxl and checked cell by cell."""

from __future__ import annotations

import datetime as dt
import csv
import email
import email.policy
import hashlib
import io
import zipfile

import openpyxl
import pytest

from cmrg_excel.kit import layout as L
from cmrg_excel import register as reg
from cmrg_excel.core.contracts import read_contracts
from cmrg_excel.issue import generate as generate_module
from cmrg_excel.issue.generate import GenerateError, generate_round
from cmrg_excel.issue.template import build_template
from cmrg_excel.issue.spec import TemplateSpec
from cmrg_excel.kit.contract_list import write_contract_list
from cmrg_excel.core.framework import find

from .conftest import make_contract


def _spec(**overrides) -> TemplateSpec:
    base = dict(
        contract=make_contract(), framework=find("nao-cm-areas-1-8"), round="R1", token="tok-123",
        council="Test Council", review_group="CMRG", return_email="cmrg@test.gov.uk", password="pw",
        deadline=dt.date(2027, 1, 29), generated_at="2026-11-02T10:00:00+00:00",
    )
    base.update(overrides)
    return TemplateSpec(**base)


def _open(data: bytes, **kw) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data), **kw)


@pytest.fixture(scope="module")
def template():
    spec = _spec()
    return spec, build_template(spec)


def _input_cells(fw) -> dict[str, set[str]]:
    """Every cell a contract owner may edit, by sheet, derived from the layout."""
    cells: dict[str, set[str]] = {name: set() for name in L.SHEETS}
    for i, _ in enumerate(L.CONTRACT_FIELDS):
        cells[L.CONTRACT].add(f"{L.CONTRACT_CORRECTION_COL}{L.CONTRACT_FIRST_ROW + i}")
    for ref, row in L.activity_rows(fw).items():
        for key in L.ANSWER_KEYS:
            cells[L.ASSESSMENT].add(f"{L.ASSESS_BY_KEY[key].letter}{row}")
    for f in L.ATTEST_FIELDS:
        cells[L.ATTESTATION].add(f.cell)
    return cells


def test_every_sheet_protected_and_only_input_cells_unlocked(template):
    spec, data = template
    wb = _open(data)
    expected = _input_cells(spec.framework)
    for ws in wb.worksheets:
        assert ws.protection.sheet, f"{ws.title} is not protected"
        assert ws.protection.password, f"{ws.title} has no password"
        unlocked = {c.coordinate for row in ws.iter_rows() for c in row if c.protection.locked is False}
        assert unlocked == expected[ws.title], ws.title


def test_rating_cells_have_list_validation_with_exactly_the_scale_and_stop_alert(template):
    spec, data = template
    ws = _open(data)[L.ASSESSMENT]
    labels = spec.framework.scale.labels
    rating_cells = {f"D{row}" for row in L.activity_rows(spec.framework).values()}
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert len(lists) == 1
    dv = lists[0]
    assert dv.formula1 == '"' + ",".join(labels) + '"'
    assert dv.errorStyle in (None, "stop")  # stop is the default style
    assert dv.showErrorMessage and dv.showInputMessage
    assert dv.prompt and "0 Not in place" in dv.prompt and len(dv.prompt) <= 255
    covered = {c.coordinate for rng in dv.sqref.ranges for row in ws[rng.coord] for c in row}
    assert covered == rating_cells


def test_target_dates_have_date_validation(template):
    spec, data = template
    ws = _open(data)[L.ASSESSMENT]
    dates = [dv for dv in ws.data_validations.dataValidation if dv.type == "date"]
    assert len(dates) == 1
    covered = {c.coordinate for rng in dates[0].sqref.ranges for row in ws[rng.coord] for c in row}
    assert covered == {f"I{row}" for row in L.activity_rows(spec.framework).values()}


def test_metadata_sheet_is_very_hidden_and_complete(template):
    spec, data = template
    wb = _open(data)
    meta = wb[L.META]
    assert meta.sheet_state == "veryHidden"
    values = {meta[f"A{L.META_FIRST_ROW + i}"].value: meta[L.meta_cell(k)].value for i, k in enumerate(L.META_KEYS)}
    assert values["issue_token"] == "tok-123"
    assert values["contract_id"] == "C-0001"
    assert values["round"] == "R1"
    assert values["framework_id"] == "nao-cm-areas-1-8"
    assert values["framework_hash"] == spec.framework.content_hash
    assert values["layout_version"] == L.LAYOUT_VERSION
    assert all(wb[name].sheet_state == "visible" for name in L.SHEETS if name != L.META)


def test_every_activity_appears_with_its_reference_and_statement(template):
    spec, data = template
    ws = _open(data)[L.ASSESSMENT]
    for act in spec.framework.activities:
        row = L.activity_rows(spec.framework)[act.ref]
        assert ws[f"A{row}"].value == act.ref
        assert ws[f"B{row}"].value == act.text
    assert len(L.activity_rows(spec.framework)) == 70


def test_area_formulas_point_at_their_rows_and_cache_blank_when_unrated(template):
    spec, data = template
    ws = _open(data)[L.ASSESSMENT]
    cached = _open(data, data_only=True)[L.ASSESSMENT]
    for r in L.assessment_rows(spec.framework):
        if r.kind != "area":
            continue
        rows = [L.activity_rows(spec.framework)[a.ref] for a in spec.framework.area(r.area).activities]
        assert ws[f"E{r.row}"].value == f'=IFERROR(AVERAGE(E{min(rows)}:E{max(rows)}),"")'
        assert cached[f"E{r.row}"].value in ("", None)
        assert cached[f"C{r.row}"].value == f"0 of {len(rows)} rated"


def test_cached_scores_are_right_when_answers_are_prefilled():
    fw = find("nao-cm-areas-1-8")
    area1 = [a.ref for a in fw.area(1).activities]
    answers = {area1[0]: {"rating": "4 Best"}, area1[1]: {"rating": "1 Developing"},
               area1[2]: {"rating": "Not applicable", "evidence": "No plan needed"}}
    data = build_template(_spec(answers=answers, carried_from="R0"))
    cached = _open(data, data_only=True)[L.ASSESSMENT]
    rows = L.activity_rows(fw)
    assert cached[f"E{rows[area1[0]]}"].value == 4
    assert cached[f"E{rows[area1[1]]}"].value == 1
    assert cached[f"E{rows[area1[2]]}"].value == "n/a"
    area_row = next(r.row for r in L.assessment_rows(fw) if r.kind == "area" and r.area == 1)
    assert cached[f"E{area_row}"].value == pytest.approx(2.5)
    assert cached[f"C{area_row}"].value == "3 of 9 confirmed or re-rated"
    overall = L.assessment_rows(fw)[-1].row
    assert cached[f"E{overall}"].value == pytest.approx(2.5)


def test_a_re_review_area_counts_the_owners_answers_not_those_carried_forward():
    """'N of 9' on a re-review counts answers the owner confirmed or re-rated: carried-forward
    ratings left as they came do not count, in the cached value or in the formula."""
    fw = find("nao-cm-areas-1-8")
    a1, a2, a3 = (a.ref for a in fw.area(1).activities[:3])
    carried = {"rating": "2 Good", "previous": "R0: 2 Good"}
    answers = {a1: dict(carried), a2: {**carried, "confirm": "Yes"}, a3: {**carried, "rating": "3 Better"}}
    data = build_template(_spec(answers=answers, carried_from="R0"))
    area_row = next(r.row for r in L.assessment_rows(fw) if r.kind == "area" and r.area == 1)
    assert _open(data, data_only=True)[L.ASSESSMENT][f"C{area_row}"].value == "2 of 9 confirmed or re-rated"
    formula = _open(data)[L.ASSESSMENT][f"C{area_row}"].value
    rows = [L.activity_rows(fw)[a.ref] for a in fw.area(1).activities]
    lo, hi = min(rows), max(rows)
    assert formula == (f'=SUMPRODUCT((D{lo}:D{hi}<>"")*(((J{lo}:J{hi}="")+(K{lo}:K{hi}="Yes")'
                       f'+(("R0: "&D{lo}:D{hi})<>J{lo}:J{hi}))>0))&" of 9 confirmed or re-rated"')


def test_unanswered_and_invalid_ratings_are_highlighted(template):
    spec, data = template
    ws = _open(data)[L.ASSESSMENT]
    rules = {rule.type: {c.coordinate for rng in cf.sqref.ranges for row in ws[rng.coord] for c in row}
             for cf in ws.conditional_formatting for rule in cf.rules if "D" in str(cf.sqref)}
    rating_cells = {f"D{row}" for row in L.activity_rows(spec.framework).values()}
    assert rules["containsBlanks"] == rating_cells
    assert rules["expression"] == rating_cells  # a rating not on the list shows red


def test_formula_like_text_from_the_contract_list_stays_text():
    nasty = '=HYPERLINK("http://x","y")'
    data = build_template(_spec(contract=make_contract(supplier=nasty, title="+cmd|' /C calc'!A0")))
    wb = _open(data)
    cell = wb[L.CONTRACT][L.contract_cell("supplier")]
    assert cell.value == nasty and cell.data_type == "s"
    assert wb[L.CONTRACT][L.contract_cell("title")].data_type == "s"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        sheet_xml = b"".join(zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/"))
    assert b"<f>HYPERLINK" not in sheet_xml


def test_contract_details_are_prefilled_locked_with_uk_formats(template):
    _, data = template
    ws = _open(data)[L.CONTRACT]
    assert ws[L.contract_cell("contract_id")].value == "C-0001"
    money = ws[L.contract_cell("annual_value_gbp")]
    assert money.value == 1_200_000 and "£" in money.number_format and money.protection.locked
    start = ws[L.contract_cell("start_date")]
    assert start.value == dt.datetime(2023, 4, 1) and start.number_format == "dd/mm/yyyy"


def test_attestation_has_yes_dropdown_and_date_validation(template):
    _, data = template
    ws = _open(data)[L.ATTESTATION]
    confirm = L.ATTEST_BY_KEY["confirm"].cell
    dvs = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    assert dvs[confirm].type == "list" and dvs[confirm].formula1 == '"Yes"'
    assert dvs[L.ATTEST_BY_KEY["date"].cell].type == "date"


def test_print_setup_and_frozen_headers(template):
    _, data = template
    wb = _open(data)
    ws = wb[L.ASSESSMENT]
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    # scaled to one page wide, no smaller than 11-point text needs to print at 8 points
    assert 73 <= ws.page_setup.scale <= 100
    assert ws.print_title_rows == f"$1:${L.ASSESS_HEADER_ROW}"
    assert ws.freeze_panes == f"C{L.ASSESS_HEADER_ROW + 1}"
    assert "C-0001" in ws.oddFooter.left.text and "&P" in ws.oddFooter.right.text


def test_footer_keeps_a_contract_id_that_starts_with_a_digit():
    # "&8" in a footer takes every digit after it as the font size (11 on the Assessment sheet,
    # which prints at 74%, so that the footer prints at 8 points).
    ws = _open(build_template(_spec(contract=make_contract("123-X"))))[L.ASSESSMENT]
    assert ws.oddFooter.left.size == 11
    assert ws.oddFooter.left.text.strip().startswith("123-X | R1")


# --- a whole round ---------------------------------------------------------------------
def test_round_writes_files_records_ledger_and_mailmerge(issued):
    ws, result = issued
    assert sorted(f.path.name for f in result.files) == ["C-0001.xlsx", "C-0002.xlsx", "C-0003.xlsx"]
    conn = reg.open_register(ws)
    issues = reg.list_issues(conn, "R1")
    assert len(issues) == 3
    for f in result.files:
        issue = reg.get_issue(conn, f.token)
        data = f.path.read_bytes()
        assert issue.file_sha256 == hashlib.sha256(data).hexdigest()
        assert issue.contract_id == f.contract_id and issue.status == "issued"
        meta = _open(data)[L.META]
        assert meta[L.meta_cell("issue_token")].value == f.token
        assert meta[L.meta_cell("framework_hash")].value == issue.framework_hash
        assert reg.load_framework(conn, issue.framework_hash).content_hash == issue.framework_hash
    conn.close()
    merge = (ws.outbox / "R1" / "mailmerge.csv").read_text(encoding="utf-8-sig").splitlines()
    assert merge[0] == "owner_name,owner_email,contract_id,title,attachment_path,deadline,issued_on"
    assert len(merge) == 4 and "C-0002" in merge[2]


def test_generating_again_refuses_without_force_and_supersedes_with_it(issued):
    ws, first = issued
    with pytest.raises(GenerateError, match="already has workbooks for 3"):
        generate_round(ws, "R1")
    second = generate_round(ws, "R1", only=["C-0002"], force=True)
    conn = reg.open_register(ws)
    old = reg.get_issue(conn, next(f.token for f in first.files if f.contract_id == "C-0002"))
    assert old.status == "superseded" and old.superseded_by == second.files[0].token
    assert len(reg.list_issues(conn, "R1")) == 4
    assert len(reg.list_issues(conn, "R1", open_only=True)) == 3
    conn.close()
    assert second.superseded == 1


def test_only_generates_the_named_contracts(small_workspace):
    result = generate_round(small_workspace, "R1", only=["c-0003"])
    assert [f.contract_id for f in result.files] == ["C-0003"]
    with pytest.raises(GenerateError, match="not on the contract list: NOPE. Nothing was generated"):
        generate_round(small_workspace, "R2", only=["NOPE"])


def test_bad_rows_stop_generation_unless_skip_invalid(small_workspace):
    ws = small_workspace
    good = list(read_contracts(ws.contracts_path).contracts)
    write_contract_list(ws.contracts_path, good + [make_contract("C-0009", owner_email="not-an-email")])
    with pytest.raises(GenerateError, match=r"row 5, column Owner email: not a valid email address"):
        generate_round(ws, "R1")
    assert not (ws.outbox / "R1").exists()
    result = generate_round(ws, "R1", skip_invalid=True)
    assert [f.contract_id for f in result.files] == ["C-0001", "C-0002", "C-0003"]
    assert [p.row for p in result.skipped] == [5]


def test_eml_drafts_attach_the_workbook(small_workspace):
    result = generate_round(small_workspace, "R1", eml=True, only=["C-0001"])
    f = result.files[0]
    msg = email.message_from_bytes(f.eml.read_bytes(), policy=email.policy.default)
    assert msg["To"] == "Jane Example <jane.example@council.gov.uk>"
    assert "C-0001" in msg["Subject"] and msg["X-Unsent"] == "1"
    parts = [p for p in msg.walk() if p.get_filename()]
    assert parts[0].get_filename() == "C-0001.xlsx"
    assert parts[0].get_payload(decode=True) == f.path.read_bytes()
    body = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_content()
    assert "Jane Example" in body and "cmrg@test.gov.uk" in body


def test_file_names_are_safe_on_windows(small_workspace):
    ws = small_workspace
    write_contract_list(ws.contracts_path, [make_contract("CON"), make_contract("A/B.")])
    names = sorted(f.path.name for f in generate_round(ws, "R1").files)
    assert names == ["A_B.xlsx", "_CON.xlsx"]


def test_bad_round_name_is_refused(small_workspace):
    with pytest.raises(GenerateError, match="not a valid name"):
        generate_round(small_workspace, "../escape")


def test_build_is_deterministic_and_dated_when_generated():
    spec = _spec(generated_at="2026-11-02T10:00:00+01:00")
    first = build_template(spec)
    assert build_template(spec) == first
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        core = zf.read("docProps/core.xml").decode()
    assert '<dcterms:created xsi:type="dcterms:W3CDTF">2026-11-02T09:00:00Z</dcterms:created>' in core
    assert _open(first).properties.created == dt.datetime(2026, 11, 2, 9, 0)


def test_mailmerge_attachment_paths_are_resolved(tmp_path, small_workspace):
    import csv
    import os

    from cmrg_excel.core.workspace import open_workspace

    link = tmp_path / "via-link"
    os.symlink(small_workspace.root, link)
    ws = open_workspace(link)
    generate_round(ws, "R1")
    rows = list(csv.DictReader((ws.outbox / "R1" / "mailmerge.csv").read_text(encoding="utf-8-sig").splitlines()))
    conn = reg.open_register(ws)
    try:
        expected = {i.contract_id: str((ws.root / i.file_path).resolve()) for i in reg.list_issues(conn, "R1")}
    finally:
        conn.close()
    assert {r["contract_id"]: r["attachment_path"] for r in rows} == expected
    assert all(p.startswith(str(small_workspace.root.resolve())) for p in expected.values())


def test_skip_issued_issues_only_the_contracts_without_a_workbook(workspace):
    from click.testing import CliRunner

    from cmrg_excel.cli import cli

    ws = workspace
    write_contract_list(ws.contracts_path, [make_contract(f"C-000{i}") for i in range(1, 5)])
    first = generate_round(ws, "R1", only=["C-0002"], today=dt.date(2026, 11, 2))
    refused = CliRunner().invoke(cli, ["generate", "--round", "R1", "-w", str(ws.root)])
    assert refused.exit_code != 0 and "--skip-issued" in refused.output
    result = generate_round(ws, "R1", skip_issued=True, today=dt.date(2026, 11, 2))
    assert [f.contract_id for f in result.files] == ["C-0001", "C-0003", "C-0004"]
    assert result.already_issued == ["C-0002"] and result.superseded == 0
    conn = reg.open_register(ws)
    try:
        open_issues = {i.contract_id: i.token for i in reg.list_issues(conn, "R1", open_only=True)}
    finally:
        conn.close()
    assert open_issues["C-0002"] == first.files[0].token  # the first workbook still stands
    assert len(open_issues) == 4 and result.open_in_round == 4
    # the mail merge list holds the whole round; issued_on tells the batches apart
    conn = reg.open_register(ws)
    try:
        conn.execute("UPDATE issues SET generated_at='2026-07-31T23:30:00+00:00' WHERE contract_id='C-0002'")
        generate_module.write_mailmerge(ws, conn, "R1")
    finally:
        conn.close()
    with (ws.outbox / "R1" / "mailmerge.csv").open(encoding="utf-8-sig", newline="") as fh:
        issued_on = {row["contract_id"]: row["issued_on"] for row in csv.DictReader(fh)}
    assert issued_on["C-0002"] == "01/08/2026"  # 23:30 UTC on 31 July is 00:30 on 1 August in London (BST)
    assert set(issued_on) == {"C-0001", "C-0002", "C-0003", "C-0004"}
    with pytest.raises(GenerateError, match="nothing to generate"):
        generate_round(ws, "R1", skip_issued=True)
    out = CliRunner().invoke(cli, ["generate", "--round", "R1", "--skip-issued", "--force", "-w", str(ws.root)])
    assert out.exit_code == 2 and "not both" in out.output
