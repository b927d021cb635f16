"""Corrections workbooks, re-review rules and returns on older framework versions, end to end
through generate, ingest and the register."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import openpyxl

from cmrg_excel.kit import layout as L
from cmrg_excel import register as reg
from cmrg_excel.programme.chase import chase_round
from cmrg_excel.intake.corrections import corrections_path
from cmrg_excel.issue.generate import generate_round
from cmrg_excel.intake.ingest import ingest
from cmrg_excel.programme.simulate import fill_return
from cmrg_excel.core.workspace import open_workspace

from .returns import SIGNED, attestation, complete_answers, drop, filled, framework_of, issue_of


def _sub(ws, sub_id):
    conn = reg.open_register(ws)
    try:
        return dict(conn.execute("SELECT * FROM submissions WHERE id=?", (sub_id,)).fetchone())
    finally:
        conn.close()


def _issues(ws, contract_id, round="R1"):
    conn = reg.open_register(ws)
    try:
        return [i for i in reg.list_issues(conn, round) if i.contract_id == contract_id]
    finally:
        conn.close()


def test_corrections_workbook_round_trip_ends_accepted_and_linked(issued):
    ws, _ = issued
    issue = issue_of(ws, "C-0001")
    fw = framework_of(ws, issue)
    answers = complete_answers(fw)
    answers["1.7"]["rating"] = "Good-ish"
    original = filled(ws, answers=answers, att=attestation(confirm=None))
    drop(ws, "C-0001.xlsx", original)
    first = ingest(ws, corrections=True)
    (f,) = first.files
    assert f.outcome == "rejected"
    rejected = _sub(ws, f.submission_id)
    entered = json.loads(rejected["entered"])
    assert entered["answers"]["1.7"]["rating"] == "Good-ish" and "confirm" not in entered["attestation"]

    (made,) = first.corrections
    path = corrections_path(ws, "R1", "C-0001")
    assert made.path == path and path.is_file() and made.submission_id == f.submission_id
    # The ledger: a re-issue linked to the rejected return, superseding the owner's workbook.
    new = next(i for i in _issues(ws, "C-0001") if i.kind == "correction")
    old = next(i for i in _issues(ws, "C-0001") if i.kind != "correction")
    assert new.reissue_of == f.submission_id and new.token != old.token and new.status == "issued"
    assert old.status == "superseded" and old.superseded_by == new.token
    note = (ws.root / f"{f.stored}.problems.txt").read_text()
    assert "corrections/C-0001.xlsx" in note
    assert "Each line that starts with a sheet and cell says where to look (for example Assessment!D12" in note

    # The workbook: fixes first, the owner's answers back, each problem cell red with a note.
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "Fixes needed"
    fixes = [c.value for c in wb["Fixes needed"]["B"] if c.value]
    row = L.activity_rows(fw)["1.7"]
    # the place in words, as an owner finds it by eye, and the cell for those who use references
    assert any(x.startswith(f"Assessment sheet, row for activity 1.7, Rating (cell D{row}): ") and "Good-ish" in x
               for x in fixes), fixes
    assert any(x.startswith("Attestation sheet, Confirmation (cell C9): ") for x in fixes), fixes
    # each fix's row is tall enough for its wrapped text, so a long fix does not run under the next one
    fx = wb["Fixes needed"]
    for cell in fx["B"][3:]:
        if cell.value:
            assert fx.row_dimensions[cell.row].height >= 15 * -(-len(cell.value) // 110), cell.value
    assert fx.oddHeader.left.text and "Test Council" in fx.oddHeader.left.text
    sh = wb[L.ASSESSMENT]
    assert sh[f"D{row}"].value == "Good-ish" and "not a rating" in sh[f"D{row}"].comment.text
    assert sh[f"D{row}"].fill.fgColor.rgb != sh[f"D{row - 1}"].fill.fgColor.rgb
    assert sh[f"F{row}"].value == answers["1.7"]["evidence"] and sh[f"F{row}"].comment is None
    at = wb[L.ATTESTATION]
    assert at["C6"].value == "Jane Example" and at["C9"].comment is not None and at["C9"].value is None

    # A return on the superseded workbook now points to the corrections workbook.
    fixed_old = fill_return(original, {"1.7": {"rating": "2 Good"}}, {"confirm": "Yes"})
    drop(ws, "C-0001 again.xlsx", fixed_old)
    again = ingest(ws, corrections=True)
    assert again.files[0].outcome == "rejected" and again.corrections == []
    assert "corrections workbook was sent" in again.files[0].first_reason
    assert "C-0001.xlsx" in again.files[0].first_reason

    # chase attaches it.
    chased = chase_round(ws, "R1")
    draft = next(d for d in chased.drafts if d.contract_id == "C-0001")
    assert draft.attachments == (path,)

    # Fixed in the corrections workbook (and signed again: the date is left blank, marked): accepted,
    # linked to the rejected return.
    assert at["C8"].value is None and "sign again" in at["C8"].comment.text
    drop(ws, "C-0001 fixed.xlsx", fill_return(path, {"1.7": {"rating": "2 Good"}}, {"confirm": "Yes", "date": SIGNED}))
    done = ingest(ws, corrections=True)
    (g,) = done.files
    assert g.outcome == "accepted", [str(p) for p in g.problems]
    assert _sub(ws, g.submission_id)["corrects"] == f.submission_id
    df = reg.answers(ws, "R1")
    got = df[df.contract_id == "C-0001"].set_index("ref")
    assert got.loc["1.7", "rating"] == "2 Good" and len(got) == len(fw.activities)
    assert got.loc["1.1", "evidence"] == answers["1.1"]["evidence"]


def _drop_na_without_reason(ws):
    """C-0002's return with activity 2.1 Not applicable and no reason (rejected); its framework."""
    fw = framework_of(ws, issue_of(ws, "C-0002"))
    answers = complete_answers(fw)
    answers["2.1"] = {"rating": fw.scale.not_applicable}
    drop(ws, "C-0002.xlsx", filled(ws, "C-0002", answers=answers))
    return fw


def test_corrections_command_for_returns_rejected_without(issued):
    from click.testing import CliRunner

    from cmrg_excel.cli import cli

    ws, _ = issued
    fw = _drop_na_without_reason(ws)
    res = CliRunner().invoke(cli, ["ingest", "--no-corrections", "-w", str(ws.root)], catch_exceptions=False)
    assert res.exit_code == 0 and "Corrections workbooks" not in res.output
    assert not corrections_path(ws, "R1", "C-0002").exists()
    res = CliRunner().invoke(cli, ["corrections", "-w", str(ws.root)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "1 corrections workbook(s)" in res.output and "outbox/R1/corrections/C-0002.xlsx" in res.output
    wb = openpyxl.load_workbook(corrections_path(ws, "R1", "C-0002"))
    cell = wb[L.ASSESSMENT][L.activity_cell(fw, "2.1", "evidence")]
    assert "needs a reason" in cell.comment.text
    # Running it again makes nothing new.
    res = CliRunner().invoke(cli, ["corrections", "-w", str(ws.root)], catch_exceptions=False)
    assert "No rejected return needs a corrections workbook" in res.output
    assert "corrections" in CliRunner().invoke(cli, ["--help"]).output


def test_ingest_names_the_real_corrections_folder(issued):
    from click.testing import CliRunner

    from cmrg_excel.cli import cli

    ws, _ = issued
    _drop_na_without_reason(ws)
    res = CliRunner().invoke(cli, ["ingest", "-w", str(ws.root)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "Corrections workbooks (1), to send back: outbox/R1/corrections/ ('cmrg chase' attaches them)" in res.output
    assert corrections_path(ws, "R1", "C-0002").exists()


def test_corrections_due_date_is_a_working_day(issued):
    import datetime as dt

    from cmrg_excel.intake.corrections import issue_corrections

    ws, _ = issued
    _drop_na_without_reason(ws)
    ingest(ws, corrections=False)  # made below, on a chosen day
    conn = reg.open_register(ws)
    try:
        conn.execute("UPDATE issues SET deadline='2026-12-01'")  # long passed: two weeks from today applies
        # 14 days after 11/12/2026 is Friday 25 December; Monday 28th is the Boxing Day substitute.
        made = issue_corrections(ws, conn, today=dt.date(2026, 12, 11))
        assert len(made) == 1
        issue = reg.get_issue(conn, made[0].token)
    finally:
        conn.close()
    assert issue.deadline == "2026-12-29"

def _re_review(ws, fw):
    answers = complete_answers(fw)
    drop(ws, "C-0001.xlsx", filled(ws, "C-0001", answers=answers))
    assert ingest(ws).files[0].outcome == "accepted"
    generate_round(ws, "R2", only=["C-0001"], prefill_from="R1")
    return answers


def test_rating_jump_of_two_levels_needs_new_evidence_and_its_correction_stays_a_re_review(issued):
    ws, _ = issued
    fw = framework_of(ws, issue_of(ws, "C-0001"))
    answers = _re_review(ws, fw)
    refs = [a.ref for a in fw.activities]
    low = next(r for r in refs if answers[r]["rating"] == "0 Not in place")
    one = next(r for r in refs if answers[r]["rating"] == "1 Developing" and r != low)
    new = {r: {"confirm": "Yes"} for r in refs}
    new[low] = {"rating": "2 Good"}                       # +2, same evidence: rejected
    new[one] = {"rating": "2 Good"}                       # +1: fine
    drop(ws, "C-0001 R2.xlsx", filled(ws, "C-0001", "R2", answers=new))
    out = ingest(ws, corrections=True)
    (f,) = out.files
    assert f.outcome == "rejected"
    assert [p.code for p in f.problems] == ["jump-without-evidence"]
    assert "from 0 Not in place to 2 Good" in str(f.problems[0]) and low in str(f.problems[0])
    (made,) = out.corrections
    wb = openpyxl.load_workbook(made.path)
    sh = wb[L.ASSESSMENT]
    ev = L.activity_cell(fw, low, "evidence")
    assert "without new evidence" in sh[ev].comment.text
    assert sh[L.activity_cell(fw, low, "rating")].value == "2 Good"
    assert sh[L.activity_cell(fw, refs[-1], "confirm")].value == "Yes"
    assert sh[L.activity_cell(fw, low, "previous")].value == "R1: 0 Not in place"
    corr = next(i for i in _issues(ws, "C-0001", "R2") if i.kind == "correction")
    assert corr.prefill_round == "R1" and corr.prefill[low]["rating"] == "0 Not in place"
    # Fixed with new evidence: accepted, changed vs re-confirmed against R1, linked.
    drop(ws, "fixed.xlsx", fill_return(made.path, {low: {"evidence": "New plan signed off in May"}}, {"date": SIGNED}))
    done = ingest(ws)
    assert done.files[0].outcome == "accepted", [str(p) for p in done.files[0].problems]
    assert _sub(ws, done.files[0].submission_id)["corrects"] == f.submission_id
    df = reg.answers(ws, "R2")
    change = dict(zip(df.ref, df.change))
    assert change[low] == "changed" and change[one] == "changed"
    assert {change[r] for r in refs if r not in (low, one)} == {"re-confirmed"}


def test_rating_jump_with_new_evidence_or_downward_is_accepted(issued):
    ws, _ = issued
    fw = framework_of(ws, issue_of(ws, "C-0001"))
    answers = _re_review(ws, fw)
    refs = [a.ref for a in fw.activities]
    low = next(r for r in refs if answers[r]["rating"] == "0 Not in place")
    high = next(r for r in refs if answers[r]["rating"] == "4 Best")
    new = {r: {"confirm": "Yes"} for r in refs}
    new[low] = {"rating": "4 Best", "evidence": "Board-approved plan, 2027"}
    new[high] = {"rating": "0 Not in place"}
    drop(ws, "C-0001 R2.xlsx", filled(ws, "C-0001", "R2", answers=new))
    out = ingest(ws)
    assert out.files[0].outcome == "accepted", [str(p) for p in out.files[0].problems]


# --- returns on an older framework version ---------------------------------------------------

SCALE = """
[scale]
not_applicable = "Not applicable"
[[scale.levels]]
score = 0
label = "0 Not in place"
descriptor = "Nothing yet."
[[scale.levels]]
score = 1
label = "1 Developing"
descriptor = "Some."
[[scale.levels]]
score = 2
label = "2 Good"
descriptor = "Good."
[[scale.levels]]
score = 3
label = "3 Better"
descriptor = "Better."
[[scale.levels]]
score = 4
label = "4 Best"
descriptor = "Best."
"""


def _framework(version: str, acts: dict[int, list[tuple[str, str]]], upgrades: str = "") -> str:
    out = [f'id = "local-fw"\nversion = "{version}"\ntitle = "Local framework"\n', SCALE]
    for number, items in acts.items():
        out.append(f'[[areas]]\nnumber = {number}\nname = "Area {number}"\n')
        for ref, text in items:
            out.append(f'[[areas.activities]]\nref = "{ref}"\ntext = "{text}"\n')
    return "\n".join(out) + upgrades


V1 = {1: [("1.1", "Plan the contract"), ("1.2", "Agree KPIs"), ("1.3", "Hold reviews")],
      2: [("2.1", "Manage risk"), ("2.2", "Keep a paper file")]}
V2 = {1: [("1.1", "Plan the contract"), ("1.2", "Agree KPIs"), ("1.4", "Hold quarterly reviews")],
      2: [("2.1", "Manage risk")]}
V2_NEW = {1: [("1.1", "Plan the contract"), ("1.2", "Agree KPIs"), ("1.3", "Hold reviews")],
          2: [("2.1", "Manage risk"), ("2.2", "Keep a paper file"), ("2.3", "Plan the exit")]}


def _on_v1(small_workspace):
    ws = small_workspace
    (ws.frameworks_dir / "local-fw.toml").write_text(_framework("1", V1), encoding="utf-8")
    cfg = ws.root / "cmrg.toml"
    cfg.write_text(cfg.read_text().replace('framework = "nao-cm-areas-1-8"', 'framework = "local-fw"'))
    ws = open_workspace(ws.root)
    generate_round(ws, "R1")
    return ws


def _v1_return(ws, contract_id="C-0001"):
    issue = issue_of(ws, contract_id)
    fw = framework_of(ws, issue)
    assert fw.version == "1"
    answers = complete_answers(fw)
    drop(ws, f"{contract_id}.xlsx", filled(ws, contract_id, answers=answers))
    return answers


def test_return_on_an_older_version_is_mapped_and_the_mapping_listed(small_workspace):
    ws = _on_v1(small_workspace)
    answers = _v1_return(ws)
    upgrades = '\n[[upgrades]]\nfrom_version = "1"\nmap = { "1.3" = "1.4", "2.2" = "" }\n'
    (ws.frameworks_dir / "local-fw.toml").write_text(_framework("2", V2, upgrades), encoding="utf-8")
    out = ingest(ws)
    (f,) = out.files
    assert f.outcome == "accepted", [str(p) for p in f.problems]
    assert f.mapping == {"1.1": "1.1", "1.2": "1.2", "1.3": "1.4", "2.1": "2.1", "2.2": ""}
    assert any(n.code == "upgraded" and "1.3 -> 1.4" in n.message and "2.2 dropped" in n.message for n in f.notes)
    df = reg.answers(ws, "R1")
    assert sorted(df.ref) == ["1.1", "1.2", "1.4", "2.1"] and set(df.framework_version) == {"2"}
    assert df.set_index("ref").loc["1.4", "rating"] == answers["1.3"]["rating"]
    assert df.set_index("ref").loc["1.4", "activity"] == "Hold quarterly reviews"
    sub = _sub(ws, f.submission_id)
    assert json.loads(sub["mapping"])["1.3"] == "1.4"
    conn = reg.open_register(ws)
    try:
        src = dict(conn.execute("SELECT ref, source_ref FROM answers WHERE submission_id=?", (f.submission_id,)).fetchall())
    finally:
        conn.close()
    assert src["1.4"] == "1.3"
    report = openpyxl.load_workbook(out.report)
    rows = [[c.value for c in r] for r in report["Upgrades"].iter_rows(min_row=5)]
    assert ["C-0001.xlsx", "C-0001", "1", "1.3", "1.4", "moved"] in rows
    assert ["C-0001.xlsx", "C-0001", "1", "2.2", "(dropped: no successor)", "dropped"] in rows


def test_return_on_an_older_version_without_mapping_gets_the_current_template(small_workspace):
    ws = _on_v1(small_workspace)
    answers = _v1_return(ws)
    (ws.frameworks_dir / "local-fw.toml").write_text(_framework("2", V2_NEW), encoding="utf-8")
    out = ingest(ws, corrections=True)
    (f,) = out.files
    assert f.outcome == "rejected" and [p.code for p in f.problems] == ["old-template"]
    assert "please use the current template" in f.first_reason.lower()
    # The owner's note never sends them to the hidden identity sheet, which they cannot see.
    note = (ws.root / f.problems_file).read_text(encoding="utf-8")
    assert "  1. This workbook was made with version 1 of the framework" in note
    assert L.META not in note
    (made,) = out.corrections
    assert made.upgraded and made.framework_version == "2"
    corr = next(i for i in _issues(ws, "C-0001") if i.kind == "correction")
    assert corr.framework_version == "2" and corr.reissue_of == f.submission_id
    wb = openpyxl.load_workbook(made.path)
    fixes = [c.value for c in wb["Fixes needed"]["B"] if c.value]
    assert "current version 2" in fixes[0]
    conn = reg.open_register(ws)
    try:
        fw2 = reg.load_framework(conn, corr.framework_hash)
    finally:
        conn.close()
    sh = wb[L.ASSESSMENT]
    for ref in ("1.1", "1.2", "1.3", "2.1", "2.2"):  # unchanged activities: answers copied across
        assert sh[L.activity_cell(fw2, ref, "rating")].value == answers[ref]["rating"]
    new_cell = sh[L.activity_cell(fw2, "2.3", "rating")]
    assert new_cell.value is None and "New in version 2" in new_cell.comment.text
    # Filled in on the current version: accepted, linked.
    drop(ws, "fixed.xlsx", fill_return(made.path, {"2.3": {"rating": "2 Good", "evidence": "Exit plan v1"}},
                                       attestation()))
    done = ingest(ws)
    assert done.files[0].outcome == "accepted", [str(p) for p in done.files[0].problems]
    assert _sub(ws, done.files[0].submission_id)["corrects"] == f.submission_id
    assert set(reg.answers(ws, "R1").framework_version) == {"2"}


def test_register_of_schema_1_is_migrated(tmp_path):
    path = tmp_path / "register.sqlite"
    reg.connect(path).close()
    raw = sqlite3.connect(path)
    raw.execute("ALTER TABLE submissions DROP COLUMN entered")
    raw.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    raw.commit()
    raw.close()
    conn = reg.connect(path)
    try:
        cols = {r[1] for r in conn.execute("PRAGMA table_info(submissions)")}
        assert "entered" in cols
        assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(reg.SCHEMA_VERSION)
    finally:
        conn.close()


def test_another_contracts_workbook_gets_no_corrections_workbook(issued):
    """A workbook issued for C-0002 but sent as C-0001's return (or showing C-0001 on its Contract
    sheet): its answers are most likely C-0001's, so they must not be filled into a workbook sent to
    C-0002's owner. No corrections workbook, C-0002's workbook stays the one to answer, and the
    reminder attaches that one."""
    ws, _ = issued
    c2 = issue_of(ws, "C-0002")
    drop(ws, "returned.xlsx", filled(ws, "C-0002", cells={(L.CONTRACT, L.contract_cell("contract_id")): "C-0001"}))
    out = ingest(ws, corrections=True)
    (f,) = out.files
    assert f.outcome == "rejected" and "wrong-contract" in {p.code for p in f.problems}
    note = (ws.root / f.problems_file).read_text(encoding="utf-8")
    assert "Fill in the workbook issued for your contract" in note
    assert out.corrections == [] and not corrections_path(ws, "R1", "C-0002").exists()
    (still,) = [i for i in _issues(ws, "C-0002")]
    assert still.token == c2.token and still.status == "issued"
    from cmrg_excel.intake.corrections import issue_corrections

    assert issue_corrections(ws) == []
    drafts = {d.contract_id: d for d in chase_round(ws, "R1", today=dt.date(2030, 1, 1)).drafts}
    assert drafts["C-0002"].state == "outstanding"
    assert [p.resolve() for p in drafts["C-0002"].attachments] == [(ws.root / c2.file_path).resolve()]


def test_the_python_api_makes_corrections_workbooks_as_the_command_does(issued):
    """ingest() and 'cmrg ingest' share their defaults: both make corrections workbooks."""
    ws, _ = issued
    _drop_na_without_reason(ws)
    result = ingest(ws)
    assert [c.contract_id for c in result.corrections] == ["C-0002"]
    assert corrections_path(ws, "R1", "C-0002").exists()
