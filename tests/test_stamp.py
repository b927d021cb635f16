"""Stamped templates (cmrg_excel/issue/stamp.py) against build_template, and text that looks like XML."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import warnings
import zipfile
from dataclasses import replace

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from cmrg_excel.kit import layout as L
from cmrg_excel import register as reg
from cmrg_excel.core.contracts import read_contracts
from cmrg_excel.issue.generate import PARALLEL_FROM, build_many, generate_round
from cmrg_excel.issue.template import build_template
from cmrg_excel.kit.contract_list import write_contract_list
from cmrg_excel.intake.ingest import ingest
from cmrg_excel.issue.stamp import Stamper, _text_placeholder, stampable
from cmrg_excel.kit.styles import Styles, new_workbook

from .conftest import make_contract
from .returns import drop, filled
from .test_generate import _spec

# Text that xlsxwriter 3.3.1 would have stored raw as rich-text XML (first two), and its neighbours.
RICH_LOOKALIKES = [
    "<r>boom</r>", "<r>a</b></r>", "<r></r>", "<r> spaced </r>", "<r>_x0041_</r>", "<r>x_</r>",
    "<r>Café – £ & \"quotes\"</r>", "<r>boom</r> ", "<r>boom", "boom</r>", "<R>boom</R>",
    # xlsxwriter's _xHHHH_ escaping: fine for one, but it missed the second of two sharing a "_"
    "_x0041_", "_x005F_x0042_", "a_x0041_x0042_x0043_b",
]


def _sheet_values(data: bytes, sheet: str):
    o = openpyxl.load_workbook(io.BytesIO(data))[sheet]
    c = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(sheet).to_python()
    return o, c


@pytest.mark.parametrize("how", ["write_string", "write", "merge_range"])
def test_text_that_looks_like_rich_string_xml_reads_back_identical(how):
    wb, buffer = new_workbook()
    st = Styles(wb)
    ws = wb.add_worksheet("S")
    for i, text in enumerate(RICH_LOOKALIKES):
        if how == "merge_range":
            ws.merge_range(i, 0, i, 1, text, st.locked)
        else:
            getattr(ws, how)(i, 0, text, st.locked)
    wb.close()
    data = buffer.getvalue()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        sst = zf.read("xl/sharedStrings.xml").decode()
    assert "<t>boom</t>" not in sst and "</b>" not in sst  # nothing of the text is taken as markup
    o, c = _sheet_values(data, "S")
    for i, text in enumerate(RICH_LOOKALIKES):
        assert c[i][0] == text, (i, text)
        if "x005F_" not in text:  # openpyxl deletes every "x005F_" it reads, escaped or not
            assert o.cell(i + 1, 1).value == text, (i, text)


# --- stamped templates are the templates build_template makes ------------------------------
LONG_TITLE = "A very long contract title " + "x" * 228  # 255 characters, the list's limit

HOSTILE = {
    "plain": make_contract(),
    "formula": make_contract("F-1", supplier='=HYPERLINK("http://x","y")', title="+cmd|' /C calc'!A0",
                             owner_name="@SUM(A1)", directorate="-2+3"),
    "markup": make_contract("M-1", title="Fish & Chips <Ltd> \"double\" 'single' >", supplier="A&B<C>D",
                            owner_name="&amp; &lt;", owner_email="a&b@example.gov.uk"),
    "xhhhh": make_contract("X-1", title="_x0041_", supplier="a_x0041_b _x005F_x0042_ _X0041_ _x00",
                           directorate="ends_", owner_name="_x", risk="_x0041_"),
    "rich lookalikes": make_contract("R-1", supplier="<r>boom</r>", title="<r>a</b></r>", directorate="<r></r>",
                                     owner_name="<r>_x0041_</r>", complexity="<r>x</r>"),
    "unicode": make_contract("U-1", title="Café – £ ≥ ½ 😀 𝄞", supplier="Ünïcödé GmbH – Zürich",
                             directorate="Bell\x07 and unit\x1f", owner_name="\ue000\ue001 private use"),
    "long": make_contract("L-1", title=LONG_TITLE, supplier="S" * 255, directorate="D" * 255),
    "spaces": make_contract("S-1", title=" padded ", supplier="\ttabbed", directorate="trailing ",
                            owner_name="two\nlines"),
    "same values": make_contract("D-1", title="Same", supplier="Same", directorate="Same", owner_name="Same",
                                 risk="High", complexity="High"),
    "sheet labels": make_contract("K-1", title="Contract owner", supplier="Risk", directorate="Detail",
                                  owner_name="Supplier", risk="Yes"),
    "optional empty": make_contract("O-1", recommission_date=None, audit_synergy=None, owner_name="",
                                    last_review_date=dt.date(2025, 1, 31)),
    "audit no": make_contract("O-2", audit_synergy=False, last_review_date=dt.date(2024, 2, 29)),
    "numbers and dates": make_contract("N-1", annual_value_gbp=0.0, total_value_gbp=0.1 + 0.2,
                                       start_date=dt.date(1900, 1, 1), end_date=dt.date(2099, 12, 31),
                                       recommission_date=dt.date(1900, 3, 1)),
    "big numbers": make_contract("N-2", annual_value_gbp=1e15 + 0.5, total_value_gbp=123456789012.34),
    "whole numbers": make_contract("N-3", annual_value_gbp=5, total_value_gbp=7),
    "equal numbers": make_contract("N-4", annual_value_gbp=1_200_000.0, total_value_gbp=1_200_000.0,
                                   start_date=dt.date(2027, 6, 30), end_date=dt.date(2027, 6, 30)),
    "no amounts or dates": make_contract("N-5", annual_value_gbp=None, total_value_gbp=None, start_date=None,
                                         end_date=None, recommission_date=None),
    "longest id": make_contract("I" * 40),
}

_SST_REF = re.compile(r'(<c [^>]*t="s"[^>]*><v>)(\d+)(</v>)')
_SI = re.compile(r"<si>.*?</si>", re.S)


def _semantic(data: bytes):
    """(zip entries, {part: XML}) with every shared-string index replaced by its <si> element,
    and the string table as the set of its elements: duplicate entries do not count."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        entries = [(i.filename, i.date_time, i.compress_type, i.external_attr, i.create_system)
                   for i in zf.infolist()]
        parts = {i.filename: zf.read(i).decode("utf-8") for i in zf.infolist()}
    sst = parts["xl/sharedStrings.xml"]
    sis = _SI.findall(sst)
    count, unique = re.search(r'<sst [^>]*count="(\d+)" uniqueCount="(\d+)">', sst).groups()
    assert int(unique) == len(sis)
    out = {}
    for name, xml in parts.items():
        if name == "xl/sharedStrings.xml":
            out[name] = (count, frozenset(sis), re.sub(r' uniqueCount="\d+"', "", _SI.sub("", xml)))
        elif name.startswith("xl/worksheets/"):
            out[name] = _SST_REF.sub(lambda m: m.group(1) + sis[int(m.group(2))] + m.group(3), xml)
        else:
            out[name] = xml
    return entries, out


def _has_duplicate_strings(data: bytes) -> bool:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        sis = _SI.findall(zf.read("xl/sharedStrings.xml").decode())
    return len(sis) != len(set(sis))


def _specs(**over):
    return [_spec(contract=c, token=f"tok-{i}-{c.contract_id}", generated_at=f"2026-11-02T10:00:{i % 60:02d}+00:00",
                  **over) for i, c in enumerate(HOSTILE.values())]


@pytest.mark.parametrize("kind", ["initial", "reissue"])
def test_stamped_workbooks_are_the_workbooks_build_template_makes(kind):
    stamper = Stamper()
    specs = _specs(kind=kind)
    for spec in specs:
        assert stampable(spec)
        stamped, direct = stamper.build(spec), build_template(spec)
        assert _semantic(stamped) == _semantic(direct), spec.contract.contract_id
        if stamped != direct:  # only a shared string written twice may differ
            assert _has_duplicate_strings(stamped) and not _has_duplicate_strings(direct), spec.contract.contract_id
    assert stamper.stamped == len(specs) and stamper.built == 0
    # one base per shape (which details are empty, and whole or decimal amounts), not per contract
    assert stamper.bases == 5


def test_the_text_reads_back_from_stamped_workbooks():
    stamper = Stamper()
    for spec in _specs():
        c = spec.contract
        _, values = _sheet_values(stamper.build(spec), L.CONTRACT)
        for i, f in enumerate(L.CONTRACT_FIELDS):
            value = getattr(c, f.key)
            if f.kind == "text" and value:
                got = values[L.CONTRACT_FIRST_ROW - 1 + i][1]
                # calamine decodes _xHHHH_ control codes: Excel shows the character
                assert got == value, (c.contract_id, f.key)


def test_stamped_and_built_open_alike_in_openpyxl():
    stamper = Stamper()
    for spec in _specs()[:6]:
        stamped = openpyxl.load_workbook(io.BytesIO(stamper.build(spec)))
        direct = openpyxl.load_workbook(io.BytesIO(build_template(spec)))
        assert stamped.sheetnames == direct.sheetnames
        for a, b in zip(stamped.worksheets, direct.worksheets):
            cells = lambda ws: [(c.coordinate, c.value, c.data_type, c.number_format, c.protection.locked)  # noqa: E731
                                for row in ws.iter_rows() for c in row]
            assert cells(a) == cells(b), a.title
            dvs = lambda ws: [(str(d.sqref), d.type, d.formula1, d.formula2, d.prompt, d.error)  # noqa: E731
                              for d in ws.data_validations.dataValidation]
            assert dvs(a) == dvs(b), a.title
            assert (a.protection.sheet, a.protection.password) == (b.protection.sheet, b.protection.password)
            assert a.sheet_state == b.sheet_state and a.oddFooter.left.text == b.oddFooter.left.text
        assert stamped.properties.title == direct.properties.title
        assert stamped.properties.subject == direct.properties.subject
        assert stamped.properties.created == direct.properties.created


def test_only_fresh_templates_are_stamped():
    fresh = _spec()
    assert stampable(fresh)
    for over in ({"answers": {"1.1": {"rating": "2 Good"}}, "carried_from": "R0"}, {"attestation": {"name": "X"}},
                 {"corrections": {"title": "X"}}, {"annotations": {(L.CONTRACT, "C5"): "wrong"}},
                 {"fixes": ["Fix it"]}, {"kind": "correction"}):
        assert not stampable(replace(fresh, **over)), over
    stamper = Stamper()
    carried = replace(fresh, answers={"1.1": {"rating": "2 Good", "evidence": "plan"}}, carried_from="R0")
    assert stamper.build(carried) == build_template(carried)
    assert stamper.built == 1 and stamper.stamped == 0 and stamper.bases == 0


def test_values_a_base_cannot_hold_are_built_instead():
    stamper = Stamper()
    ok = _spec(contract=make_contract("OK-1"))
    odd = [
        _spec(contract=make_contract("A&B")),  # '&' starts a code in the footer
        _spec(contract=make_contract("[Picture]")),
        _spec(contract=make_contract("C-1", title="T" * 40_000)),  # xlsxwriter cuts it to 32,767
    ]
    assert stamper.build(ok) == build_template(ok)
    for spec in odd:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert _semantic(stamper.build(spec)) == _semantic(build_template(spec))
    assert (stamper.stamped, stamper.built) == (1, len(odd))
    with pytest.raises(TypeError):  # as build_template: xlsxwriter refuses a NaN number
        stamper.build(_spec(contract=make_contract("N-1", annual_value_gbp=float("nan"))))


def test_a_footer_that_a_real_value_pushes_past_255_characters_is_built():
    # The base and its check probe fit within 255 characters; a 40-character ID does not.
    check_id = len(_text_placeholder("contract_id", 1))
    assert check_id < 40
    # the widest footer: the Assessment sheet prints scaled down, its footer at 11 points to print at 8
    council = "C" * (255 - len("&L&11  | R1 | &R&11 Page &P of &N") - check_id)
    stamper = Stamper()
    short, longest = (_spec(council=council, contract=make_contract(cid)) for cid in ("C-1", "I" * 40))
    assert stamper.build(short) == build_template(short)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert stamper.build(longest) == build_template(longest)
        assert "oddFooter" not in zipfile.ZipFile(io.BytesIO(build_template(longest))).read(
            "xl/worksheets/sheet1.xml").decode()
    assert (stamper.stamped, stamper.built) == (1, 1)


def test_a_round_setting_that_the_check_catches_makes_its_shape_built():
    # The base's text placeholders are private-use characters; a council name holding one
    # would be stamped over, so the base fails its check and build_template takes over.
    spec = _spec(council=f"Council {chr(0xE000 + 1)}")
    stamper = Stamper()
    assert stamper.build(spec) == build_template(spec)
    assert (stamper.stamped, stamper.built, stamper.bases) == (0, 1, 0)


@pytest.mark.slow
def test_build_many_stamps_on_worker_processes_in_order():
    specs = [_spec(contract=make_contract(f"P-{i:03d}", title=f"Contract {i}"), token=f"t{i}")
             for i in range(PARALLEL_FROM + 2)]
    specs[5] = replace(specs[5], answers={"1.1": {"rating": "2 Good"}}, carried_from="R0")
    out = list(build_many(specs, workers=2))
    assert [_semantic(d) for d in out] == [_semantic(build_template(s)) for s in specs]


# --- a whole round ----------------------------------------------------------------------------
def test_round_tokens_are_unique_and_ledger_hashes_match_the_files(workspace, monkeypatch):
    import cmrg_excel.issue.generate as gen

    calls = []
    real = gen.build_template
    monkeypatch.setattr(gen, "build_template", lambda spec: calls.append(spec) or real(spec))
    seen = []
    result = generate_round(workspace, "R1", progress=lambda c: seen.append(c.contract_id))
    assert seen == [f.contract_id for f in result.files] and len(seen) == 28
    assert len(calls) < 28  # stamped: build_template made only the bases and their checks
    conn = reg.open_register(workspace)
    try:
        issues = {i.token: i for i in reg.list_issues(conn, "R1")}
    finally:
        conn.close()
    assert len(issues) == len({f.token for f in result.files}) == 28
    for f in result.files:
        data = f.path.read_bytes()
        issue = issues[f.token]
        assert issue.file_sha256 == f.sha256 == hashlib.sha256(data).hexdigest()
        wb = openpyxl.load_workbook(io.BytesIO(data))
        assert wb[L.META][L.meta_cell("issue_token")].value == f.token
        assert wb[L.META][L.meta_cell("contract_id")].value == f.contract_id == issue.contract_id
        assert wb[L.META][L.meta_cell("generated_at")].value == issue.generated_at
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            assert f"<vt:lpwstr>{f.token}</vt:lpwstr>" in zf.read("docProps/custom.xml").decode()


def test_stamped_workbooks_of_hostile_contracts_are_accepted_by_ingest(small_workspace):
    ws = small_workspace
    contracts = [
        make_contract("C-0001", supplier="<r>boom</r>", title='=HYPERLINK("http://x","y")'),
        make_contract("C-0002", title="Fish & Chips <Ltd> \"q\"", supplier="Café – £", directorate="A&B"),
        make_contract("C-0003", title=LONG_TITLE, supplier="Same", directorate="Same", recommission_date=None),
    ]
    write_contract_list(ws.contracts_path, contracts)
    assert [c.supplier for c in read_contracts(ws.contracts_path).contracts] == [c.supplier for c in contracts]
    result = generate_round(ws, "R1")
    for f, c in zip(result.files, contracts):
        _, values = _sheet_values(f.path.read_bytes(), L.CONTRACT)
        assert values[L.CONTRACT_FIRST_ROW][1] == c.title and values[L.CONTRACT_FIRST_ROW + 1][1] == c.supplier
        drop(ws, f.path.name, filled(ws, c.contract_id))
    outcome = ingest(ws)
    assert [(f.contract_id, f.outcome) for f in sorted(outcome.files, key=lambda f: f.contract_id)] == [
        ("C-0001", "accepted"), ("C-0002", "accepted"), ("C-0003", "accepted")]


def test_lookalike_text_over_excels_limit_is_cut_as_xlsxwriter_cuts_any_text():
    wb, buffer = new_workbook()
    ws = wb.add_worksheet("S")
    ws.write_string(0, 0, "<r>" + "x" * 40_000 + "</r>")
    wb.close()
    _, c = _sheet_values(buffer.getvalue(), "S")
    assert c[0][0] == "<r>" + "x" * (32_767 - 3)


# --- a library internal that fails costs speed, never a workbook ---------------------------
def _broken(*args, **kwargs):
    raise AttributeError("'SharedStrings' object has no attribute '_write_si' (a changed xlsxwriter)")


@pytest.mark.parametrize("internal", ["shared_string_xml", "element_text_xml", "excel_serial", "package_writer"])
@pytest.mark.parametrize("when", ["before the base is made", "after the base is made"])
def test_stamping_builds_instead_when_a_library_internal_fails(monkeypatch, internal, when):
    from cmrg_excel.kit import xlsxwriter_internals as XI

    stamper = Stamper()
    first = _spec(contract=make_contract("C-0001"), token="tok-1")
    if when == "after the base is made":
        assert stamper.build(first) == build_template(first)
        assert stamper.stamped == 1
    monkeypatch.setattr(XI, internal, _broken)
    spec = _spec(contract=make_contract("C-0002", supplier="Other Ltd"), token="tok-2")
    data = stamper.build(spec)
    assert data == build_template(spec)
    assert stamper.built == 1 and stamper.failures and "_write_si" in stamper.failures[0]
    # the round goes on: the next workbook is built too, and every one reads back right
    third = _spec(contract=make_contract("C-0003"), token="tok-3")
    assert stamper.build(third) == build_template(third)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb[L.CONTRACT][L.contract_cell("supplier")].value == "Other Ltd"
