"""Returns saved by Excel and exported from Google Sheets (mimicked by tests/producers.py).

Each builder starts from a return filled with openpyxl and rewrites its XML as the other
program writes it. Ingest must read the answers the same way whoever saved the file, must
not depend on what those programs drop (protection, very hidden state, custom properties,
cached values), and must not trust cached formula values that are wrong.
"""

from __future__ import annotations

import io
import re
import zipfile

import pytest
import python_calamine as pc

from cmrg_excel.kit import layout as L
from cmrg_excel import register as reg
from cmrg_excel.intake.ingest import ingest

from . import producers as P
from .registered import assert_register_holds, submission
from .returns import attestation, complete_answers, drop, filled, framework_of, issue_of

pytestmark = pytest.mark.filterwarnings("ignore:Data Validation extension is not supported")


def parts(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n).decode("utf-8") for n in z.namelist() if n.endswith((".xml", ".rels"))}


def sheet_xml(data: bytes) -> dict[str, str]:
    """Sheet name -> its XML."""
    pkg = P.Package(data)
    return {name: pkg.text(part) for name, part in pkg.sheets().items()}


def cached(data: bytes, sheet: str, a1: str) -> object:
    """The value a reader of cached values (calamine, pandas) sees in a cell."""
    grid = pc.CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(sheet).to_python(
        skip_empty_area=False)
    r, c = L.rc(a1)
    return grid[r][c] if r < len(grid) and c < len(grid[r]) else ""


def one_return(ws, contract_id="C-0001", seed=0, name="Jane Example"):
    fw = framework_of(ws, issue_of(ws, contract_id))
    answers = complete_answers(fw, seed=seed)
    # Text that each program stores differently: shared or inline, escaped, with spaces.
    refs = [a.ref for a in fw.activities]
    answers[refs[0]]["evidence"] = 'Plan <v2> & "risk" log — café'
    answers[refs[1]]["evidence"] = "Two lines:\nminutes and reports"
    return fw, answers, filled(ws, contract_id, answers=answers, att=attestation(name=name))


def ingest_one(ws, name: str, data: bytes):
    drop(ws, name, data)
    result = ingest(ws)
    assert len(result.files) == 1
    return result.files[0]


# --- Excel ------------------------------------------------------------------------------------------


def test_excel_saved_return_is_accepted_with_the_right_values(issued):
    ws, _ = issued
    fw, answers, data = one_return(ws, "C-0002", seed=4, name="Owner Two")
    excel = P.excel_style(data, fw.scale, ws.config.password)

    # The file really looks like Excel's.
    xml = sheet_xml(excel)
    assert "xl/sharedStrings.xml" in parts(excel)
    assert not any('t="inlineStr"' in x for x in xml.values())
    assert "<r><rPr><b/>" in parts(excel)["xl/sharedStrings.xml"]  # rich text runs
    assess = xml[L.ASSESSMENT]
    assert "<x14:dataValidations" in assess and "<xm:f>\"0 Not in place," in assess
    assert not re.search(r'<dataValidation\b[^>]*type="list"', assess)  # lists only in the extension
    assert 'type="textLength"' in assess  # other validations stay where they were
    for name, x in xml.items():
        prot = re.search(r"<sheetProtection\b[^>]*>", x).group(0)
        assert 'algorithmName="SHA-512"' in prot and 'spinCount="100000"' in prot and "password=" not in prot, name
    rows = L.activity_rows(fw)
    first = fw.activities[0]
    assert cached(excel, L.ASSESSMENT, f"E{rows[first.ref]}") == fw.scale.score_of(answers[first.ref]["rating"])
    assert cached(excel, L.ATTESTATION, "C11") == f"{len(fw.activities)} of {len(fw.activities)}"

    f = ingest_one(ws, "C-0002.xlsx", excel)
    assert (f.outcome, [str(p) for p in f.problems]) == ("accepted", [])
    assert_register_holds(ws, "C-0002", fw, answers)
    assert submission(ws, "C-0002")["attested_name"] == "Owner Two"


def test_excel_sha512_hash_is_the_documented_one():
    # ECMA-376 Part 1, 18.2.28 / MS-OFFCRYPTO 2.3.4.11 hashing, checked against an
    # independent statement of the algorithm with a small spin count.
    import base64
    import hashlib

    salt = bytes(range(16))
    h = hashlib.sha512(salt + "pw".encode("utf-16-le")).digest()
    for i in range(3):
        h = hashlib.sha512(h + i.to_bytes(4, "little")).digest()
    assert P.sha512_protection("pw", salt, 3) == base64.b64encode(h).decode()


def test_stale_cached_scores_are_not_trusted(issued):
    """A return whose cached scores are wrong (e.g. formulas not recalculated): the register
    holds scores recomputed from the ratings."""
    ws, _ = issued
    fw, answers, data = one_return(ws, "C-0003", seed=2)
    rows = L.assessment_rows(fw)
    stale = {(L.ASSESSMENT, f"E{r.row}"): 4.0 for r in rows}  # every activity, area and the overall "Best"
    stale[(L.ATTESTATION, "C12")] = 4.0
    stale[(L.ATTESTATION, "C11")] = "0 of 70"
    excel = P.excel_style(data, fw.scale, ws.config.password, cached=stale)
    # The file does carry the wrong values for anyone who reads cached values.
    area_rows = [r for r in rows if r.kind == "area"]
    assert all(cached(excel, L.ASSESSMENT, f"E{r.row}") == 4.0 for r in rows)

    f = ingest_one(ws, "C-0003.xlsx", excel)
    assert (f.outcome, [str(p) for p in f.problems]) == ("accepted", [])
    assert_register_holds(ws, "C-0003", fw, answers)
    df = reg.answers(ws)
    for area in area_rows:
        want = [fw.scale.score_of(answers[a.ref]["rating"]) for a in fw.area(area.area).activities]
        want = [s for s in want if s is not None]
        got = df[(df.contract_id == "C-0003") & (df.area == area.area)].score.mean()
        assert got == pytest.approx(sum(want) / len(want)) and got != 4.0, area.area


# --- Google Sheets ------------------------------------------------------------------------------------


def google_values(data: bytes, scale) -> dict[tuple[str, str], object]:
    """Cached values as Google Sheets might have them: its own text for a score, an error for a mean."""
    out = {}
    for key, value in P.recalculate(P.Package(data), scale).items():
        if isinstance(value, float) and not value.is_integer():
            out[key] = "#DIV/0!"
        elif isinstance(value, float):
            out[key] = str(int(value))  # a number as text
        else:
            out[key] = value
    return out


@pytest.mark.parametrize("meta, values", [("hidden", "none"), ("visible", "google")])
def test_google_sheets_export_is_accepted_with_the_right_values(issued, meta, values):
    ws, _ = issued
    fw, answers, data = one_return(ws, "C-0001", seed=6, name="Sheets User")
    google = P.google_sheets_style(data, meta=meta, cached="none" if values == "none" else google_values(data, fw.scale))

    # The file really looks like Google's export.
    xml = sheet_xml(google)
    assert "xl/sharedStrings.xml" not in parts(google) and "docProps/custom.xml" not in parts(google)
    assert all("<sheetProtection" not in x for x in xml.values())
    assert all('t="s"' not in x for x in xml.values()) and 't="inlineStr"' in xml[L.ASSESSMENT]
    states = {m.name: m.visible.name if hasattr(m.visible, "name") else str(m.visible)
              for m in pc.CalamineWorkbook.from_filelike(io.BytesIO(google)).sheets_metadata}
    assert states[L.META].lower().endswith("hidden" if meta == "hidden" else "visible"), states
    assert not any("veryhidden" in s.lower() for s in states.values())
    score_cell = f"E{L.activity_rows(fw)[fw.activities[0].ref]}"
    assert cached(google, L.ASSESSMENT, score_cell) in ("", "0", "1", "2", "3", "4", "n/a")

    f = ingest_one(ws, "C-0001.xlsx", google)
    assert (f.outcome, [str(p) for p in f.problems]) == ("accepted", [])
    assert_register_holds(ws, "C-0001", fw, answers)
    assert submission(ws, "C-0001")["attested_name"] == "Sheets User"


def test_google_sheets_export_without_the_metadata_sheet_is_rejected_with_a_clear_reason(issued):
    ws, _ = issued
    fw, answers, data = one_return(ws, "C-0001")
    google = P.google_sheets_style(data, meta="deleted")
    assert L.META not in sheet_xml(google)

    f = ingest_one(ws, "C-0001.xlsx", google)
    assert f.outcome == "rejected"
    assert [p.code for p in f.problems] == ["no-metadata"]
    reason = f.problems[0].message
    assert "hidden identity sheet" in reason and "exporting from another program" in reason
    assert "The workbook sent for C-0001 is C-0001.xlsx" in reason
    assert reason in (ws.root / f.problems_file).read_text()
    assert reg.answers(ws).empty


def test_google_sheets_without_protection_typing_over_locked_cells(issued):
    """Without protection an owner can type anywhere. Text over scores and instructions is
    ignored; over a key activity's words (its answers could no longer be matched to it) or a
    contract title it is refused, naming the cell."""
    ws, _ = issued
    fw = framework_of(ws, issue_of(ws, "C-0002"))
    answers = complete_answers(fw, seed=1)
    row = L.activity_rows(fw)[fw.activities[0].ref]
    over_question = {(L.ASSESSMENT, f"B{row}"): "We do this differently"}
    f = ingest_one(ws, "C-0002 v0.xlsx", P.google_sheets_style(filled(ws, "C-0002", answers=answers,
                                                                      cells=over_question)))
    assert [(p.where(), p.code) for p in f.problems] == [
        (f"{L.ASSESSMENT}!A{row} (activity {fw.activities[0].ref})", "ref-mismatch")]
    scribbles = {(L.ASSESSMENT, f"E{row}"): 4, (L.INSTRUCTIONS, "A1"): "read me"}
    ok = P.google_sheets_style(filled(ws, "C-0002", answers=answers, cells=scribbles))
    f = ingest_one(ws, "C-0002.xlsx", ok)
    assert (f.outcome, [str(p) for p in f.problems]) == ("accepted", [])
    assert_register_holds(ws, "C-0002", fw, answers)

    title = {(L.CONTRACT, L.contract_cell("title")): "Home care (new lot)"}
    bad = P.google_sheets_style(filled(ws, "C-0002", answers=answers, cells={**scribbles, **title},
                                       att=attestation(name="Second try")))
    f = ingest_one(ws, "C-0002 v2.xlsx", bad)
    assert f.outcome == "rejected"
    assert [(p.where(), p.code) for p in f.problems] == [
        (f"{L.CONTRACT}!{L.contract_cell('title')}", "altered-contract")]
