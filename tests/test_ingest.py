"""cmrg ingest end to end: round trips, outcomes, duplicates, superseding, report, CLI, export."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from cmrg_excel.kit import layout as L
from cmrg_excel import register as reg
from cmrg_excel.cli import cli
from cmrg_excel.intake.ingest import ingest, inbox_files

from .returns import attestation, complete_answers, drop, filled, framework_of, issue_of


def all_files(ws) -> dict[str, str]:
    """relative path -> sha256 of every file under inbox/ and archive/ (problems.txt excluded)."""
    out = {}
    for top in (ws.inbox, ws.archive):
        for p in top.rglob("*"):
            if p.is_file() and not p.name.endswith(".problems.txt"):
                out[p.relative_to(ws.root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def submissions(ws) -> list[dict]:
    conn = reg.open_register(ws)
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM submissions ORDER BY id")]
    finally:
        conn.close()


def test_round_trip_register_matches_cells(issued):
    ws, _ = issued
    written = {}
    for cid in ("C-0001", "C-0002", "C-0003"):
        fw = framework_of(ws, issue_of(ws, cid))
        answers = complete_answers(fw, seed=int(cid[-1]))
        answers["1.1"]["evidence"] = "=HYPERLINK(\"http://x\") typed by an owner"
        data = filled(ws, cid, answers=answers, att=attestation(name=f"Owner {cid}"))
        written[cid] = (answers, data)
        drop(ws, f"{cid}.xlsx", data)
    result = ingest(ws)
    assert [f.outcome for f in result.files] == ["accepted"] * 3
    assert not inbox_files(ws)
    df = reg.answers(ws)
    assert len(df) == 3 * len(fw.activities)
    rows = L.activity_rows(fw)
    for cid, (answers, data) in written.items():
        sub = df[df.contract_id == cid]
        sha = hashlib.sha256(data).hexdigest()
        assert set(sub.file_sha256) == {sha}
        assert set(sub.attested_name) == {f"Owner {cid}"}
        for rec in sub.to_dict("records"):
            given = answers[rec["ref"]]
            assert rec["rating"] == given["rating"]
            assert rec["evidence"] == given.get("evidence", "")
            assert rec["action"] == given.get("action", "")
            assert rec["action_owner"] == given.get("action_owner", "")
            td = given.get("target_date")
            if td:
                assert rec["target_date"].date() == td, rec["ref"]
            else:
                assert pd.isna(rec["target_date"]), (rec["ref"], rec["target_date"])
            assert rec["rating_cell"] == f"D{rows[rec['ref']]}" and rec["sheet"] == L.ASSESSMENT
            na = given["rating"] == fw.scale.not_applicable
            assert bool(rec["not_applicable"]) == na
            if not na:
                assert rec["score"] == fw.scale.score_of(given["rating"])
        # the archive holds the original bytes, never re-saved
        f = next(f for f in result.files if f.contract_id == cid)
        assert (ws.root / f.stored).read_bytes() == data
        assert re.fullmatch(rf"archive/R1/{cid}/\d{{8}}T\d{{6}}Z-{sha[:12]}-{cid}\.xlsx", f.stored), f.stored
    # actions table
    conn = reg.open_register(ws)
    n_actions = conn.execute("SELECT COUNT(*) FROM actions").fetchone()[0]
    conn.close()
    assert n_actions == sum(1 for a, _ in written.values() for v in a.values() if v.get("action"))
    # the report
    wb = openpyxl.load_workbook(result.report)
    # no sheet for what did not happen (no upgrades, no corrections workbooks)
    assert wb.sheetnames == ["Files", "Reasons", "Summary"]
    files = wb["Files"]
    assert files["A1"].value.startswith("Ingest of ") and files.tables
    assert [c.value for c in files[4]][:3] == ["File", "Outcome", "Contract"] and files["B5"].value == "accepted"
    # it prints: landscape, scaled to its printed columns, title and header row on every page,
    # file and sheet in the footer; the SHA-256 and where the file went are not printed
    for sheet in wb.worksheets:
        assert sheet.page_setup.orientation == "landscape" and sheet.print_area
        assert sheet.print_title_rows == "$1:$4"
        assert f"{result.report.name} | {sheet.title}" in sheet.oddFooter.left.text
    assert files.print_area.startswith("'Files'!$A$1:$G$")
    # columns as wide as their text: the Summary's item names are not cut off
    summary = wb["Summary"]
    items = [r[0].value for r in summary.iter_rows(min_row=5)]
    assert summary.column_dimensions["A"].width >= max(len(i) for i in items)
    started = summary["B5"]
    assert isinstance(started.value, dt.datetime) and started.number_format == "dd/mm/yyyy hh:mm"


def test_rejected_file_gets_problems_txt_and_rejected_submission(issued):
    ws, _ = issued
    fw = framework_of(ws, issue_of(ws, "C-0002"))
    answers = complete_answers(fw)
    answers["1.7"]["rating"] = "Good-ish"
    drop(ws, "sub/C-0002 return.xlsx", filled(ws, "C-0002", answers=answers))
    result = ingest(ws)
    f = result.files[0]
    assert f.outcome == "rejected" and f.stored == "inbox/rejected/C-0002 return.xlsx"
    text = (ws.root / f.problems_file).read_text()
    row = L.activity_rows(fw)["1.7"]
    assert f'Assessment!D{row} (activity 1.7): "Good-ish" is not a rating' in text
    sub = submissions(ws)[0]
    assert sub["outcome"] == "rejected" and sub["contract_id"] == "C-0002"
    problems = json.loads(sub["problems"])
    assert problems[0]["cell"] == f"D{row}" and problems[0]["code"] == "bad-rating"
    # a second run does not look inside inbox/rejected/
    again = ingest(ws)
    assert again.files == []


def test_duplicate_changes_nothing_and_keeps_the_file(issued):
    ws, _ = issued
    data = filled(ws, "C-0001")
    drop(ws, "C-0001.xlsx", data)
    first = ingest(ws)
    assert first.files[0].outcome == "accepted"
    before = submissions(ws)
    drop(ws, "C-0001 (again).xlsx", data)
    second = ingest(ws)
    f = second.files[0]
    assert f.outcome == "duplicate" and f.stored == "inbox/duplicates/C-0001 (again).xlsx"
    assert "already received" in f.first_reason
    assert submissions(ws) == before
    assert (ws.root / f.stored).read_bytes() == data


def test_two_copies_in_one_run_are_one_submission(issued):
    ws, _ = issued
    data = filled(ws, "C-0001")
    drop(ws, "a/C-0001.xlsx", data)
    drop(ws, "b/C-0001.xlsx", data)
    result = ingest(ws)
    assert sorted(f.outcome for f in result.files) == ["accepted", "duplicate"]
    assert len(submissions(ws)) == 1


def test_newer_return_supersedes_older_both_kept(issued):
    ws, _ = issued
    fw = framework_of(ws, issue_of(ws, "C-0003"))
    a1 = complete_answers(fw, seed=1)
    a2 = complete_answers(fw, seed=2)
    drop(ws, "C-0003.xlsx", filled(ws, "C-0003", answers=a1))
    ingest(ws)
    drop(ws, "C-0003.xlsx", filled(ws, "C-0003", answers=a2))
    result = ingest(ws)
    subs = submissions(ws)
    assert [(s["outcome"], s["status"]) for s in subs] == [("accepted", "superseded"), ("accepted", "current")]
    assert subs[1]["supersedes"] == subs[0]["id"] and result.files[0].supersedes == subs[0]["id"]
    df = reg.answers(ws)
    assert set(df.submission_id) == {subs[1]["id"]}
    assert dict(zip(df.ref, df.rating)) == {k: v["rating"] for k, v in a2.items()}
    assert len(reg.answers(ws, include_superseded=True)) == 2 * len(fw.activities)
    assert len(list((ws.archive / "R1" / "C-0003").glob("*.xlsx"))) == 2


def test_unreadable_and_odd_files_are_rejected_and_run_goes_on(issued):
    ws, _ = issued
    drop(ws, "notes.txt", b"hello, this is not a workbook\n")
    drop(ws, "empty.xlsx", b"")
    drop(ws, "C-0001.xlsx", filled(ws, "C-0001"))
    drop(ws, "~$C-0001.xlsx", b"owner lock file")  # Excel's lock file: not a return, left alone
    result = ingest(ws)
    outcome = {f.name: f.outcome for f in result.files}
    assert outcome == {"notes.txt": "rejected", "empty.xlsx": "rejected", "C-0001.xlsx": "accepted"}
    assert (ws.inbox / "~$C-0001.xlsx").exists()


def test_oversize_file_rejected_without_reading(issued):
    ws, _ = issued
    cfg = ws.root / "cmrg.toml"
    cfg.write_text(cfg.read_text().replace("max_file_mb = 10", "max_file_mb = 0.01"))
    from cmrg_excel.core.workspace import open_workspace

    ws2 = open_workspace(ws.root)
    drop(ws2, "C-0001.xlsx", filled(ws2, "C-0001"))
    f = ingest(ws2).files[0]
    assert f.outcome == "rejected" and f.problems[0].code == "too-large"


@pytest.mark.parametrize("setting, shown", [
    ('workers = "two"', 'setting [ingest] workers must be a whole number from 1 to 64, written without quotes '
                        '(found "two")'),
    ("max_file_mb = -1", "setting [ingest] max_file_mb must be a number of megabytes from 0.001 to 1000 (found -1)"),
    ("file_timeout_seconds = true", "setting [ingest] file_timeout_seconds must be a number of seconds"),
    ('settle_seconds = "a moment"', "setting [ingest] settle_seconds must be a number of seconds from 0 to 60"),
])
def test_cli_ingest_bad_setting_is_a_clear_error_and_moves_nothing(issued, setting, shown):
    ws, _ = issued
    cfg = ws.root / "cmrg.toml"
    key = setting.split(" =")[0]
    text = cfg.read_text()
    assert f"\n{key} = " in text
    cfg.write_text("\n".join(setting if line.startswith(f"{key} = ") else line for line in text.split("\n")))
    dropped = drop(ws, "C-0001.xlsx", filled(ws, "C-0001"))
    r = CliRunner().invoke(cli, ["ingest", "--workspace", str(ws.root)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert shown in r.output
    assert dropped.exists()


def test_cli_ingest_exit_zero_with_rejections_and_summary(issued):
    ws, _ = issued
    drop(ws, "C-0001.xlsx", filled(ws, "C-0001"))
    drop(ws, "C-0003.xlsx", filled(ws, "C-0003", att=attestation(confirm="No")))
    r = CliRunner().invoke(cli, ["ingest", "--workspace", str(ws.root)])
    assert r.exit_code == 0, r.output
    assert "1 accepted, 1 rejected, 0 duplicate" in r.output
    assert "C-0003.xlsx" in r.output and "rejected" in r.output
    assert "Report: outbox/ingest-" in r.output and "problems.txt" in r.output


def test_a_return_named_for_another_contract_is_filed_by_its_token_and_needs_a_look(issued):
    """Identity comes from the workbook, never its file name (issue 11.8)."""
    ws, _ = issued
    drop(ws, "C-0002.xlsx", filled(ws, "C-0001", att=attestation(name="Colleague")))  # C-0001's, named for C-0002
    r = CliRunner().invoke(cli, ["ingest", "--workspace", str(ws.root)])
    assert r.exit_code == 0, r.output
    assert "1 accepted, 0 rejected, 0 duplicate" in r.output
    assert "accepted, needs a look" in r.output and "named for C-0002" in r.output
    (sub,) = submissions(ws)
    assert sub["outcome"] == "accepted" and sub["contract_id"] == "C-0001"
    assert json.loads(sub["named_for"]) == ["C-0002"]
    assert [p["code"] for p in json.loads(sub["problems"])] == ["name-mismatch"]
    report = openpyxl.load_workbook(next(ws.outbox.glob("ingest-*.xlsx")))["Files"]
    table = [[c.value for c in row] for row in report[report.tables["Files"].ref]]  # below the title
    header, row = table[0], table[1]
    assert row[header.index("Needs a look")] == "Yes" and row[header.index("Named for")] == "C-0002"


def test_ids_that_make_the_same_file_name_accept_their_own_unrenamed_returns():
    """'A/B' and 'A_B' both make the file name A_B.xlsx: each one's own return is not flagged
    as named for the other (a ledger of plain data: the contract list refuses such IDs)."""
    from cmrg_excel.intake.check import Ledger

    def issue(cid):
        return reg.Issue(token=f"T-{cid}", contract_id=cid, round="R1", framework_id="f", framework_version="1",
                         framework_hash="h", layout_version="1", kind="initial", file_path=f"outbox/R1/{cid}.xlsx",
                         file_sha256="", generated_at="2026-11-02T09:00:00+00:00", deadline=None,
                         contract_snapshot={"contract_id": cid})

    ledger = Ledger([issue("A/B"), issue("A_B"), issue("Y1."), issue("Y1")], {})
    assert ledger.ids_in_name("A_B.xlsx") == {"A/B", "A_B"}
    assert ledger.ids_in_name("Y1.xlsx") == {"Y1.", "Y1"}
    assert ledger.ids_in_name("return for A_B (2).xlsx") == {"A/B", "A_B"}


def test_cli_ingest_refuses_when_workspace_busy(issued):
    ws, _ = issued
    with ws.lock("test"):
        r = CliRunner().invoke(cli, ["ingest", "--workspace", str(ws.root), "--wait", "0.2"])
    assert r.exit_code == 3
    assert "another cmrg run" in r.output


def test_register_export_xlsx_and_csv_keep_text_as_text(issued, tmp_path):
    ws, _ = issued
    fw = framework_of(ws, issue_of(ws, "C-0001"))
    answers = complete_answers(fw)
    answers["1.1"]["evidence"] = "=1+1"
    answers["1.2"]["evidence"] = "@SUM(A1)"
    drop(ws, "C-0001.xlsx", filled(ws, "C-0001", answers=answers))
    ingest(ws)
    out = tmp_path / "reg.xlsx"
    r = CliRunner().invoke(cli, ["register", "--out", str(out), "--workspace", str(ws.root)])
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(out)
    sh = wb["Register"]
    assert sh.freeze_panes == "A5" and sh.tables["Register"].ref.startswith("A4:")
    header = [c.value for c in sh[4]]
    assert header == reg.ANSWER_COLUMNS + ["details_to_correct"]
    ev = header.index("evidence") + 1
    cell = sh.cell(5, ev)
    assert cell.value == "=1+1" and cell.data_type == "s"
    signed = sh.cell(5, header.index("attested_on") + 1)  # a date, shown the UK way
    assert isinstance(signed.value, dt.datetime) and signed.number_format == "dd/mm/yyyy"
    # data, not a report: it says at its top that it is not set to print, and prints only that
    assert "not set to print" in sh["A2"].value and sh.print_area == "'Register'!$A$1:$F$2"
    out_csv = tmp_path / "reg.csv"
    r = CliRunner().invoke(cli, ["register", "--out", str(out_csv), "--workspace", str(ws.root)])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8-sig"))))
    assert rows[0]["evidence"] == "'=1+1" and rows[1]["evidence"] == "'@SUM(A1)"
    # the two date columns read alike, the UK way; the time a return came in keeps its time
    action = next(r for r in rows if r["target_date"])
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", action["target_date"]), action["target_date"]
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", action["attested_on"]), action["attested_on"]
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", action["received_at"]), action["received_at"]
    r = CliRunner().invoke(cli, ["register", "--out", str(tmp_path / "x.pdf"), "--workspace", str(ws.root)])
    assert r.exit_code == 1


def test_register_answers_columns_unchanged(issued):
    ws, _ = issued
    assert list(reg.answers(ws).columns) == reg.ANSWER_COLUMNS


def test_simulate_returns_mix(issued):
    from cmrg_excel.programme.simulate import simulate_returns

    ws, _ = issued
    files = simulate_returns(ws, "R1", rng_seed=3, mistakes=False)
    assert len(files) == 3
    assert {f.outcome for f in ingest(ws).files} == {"accepted"}


@pytest.mark.slow
def test_simulate_returns_with_mistakes(workspace):
    from cmrg_excel.issue.generate import generate_round
    from cmrg_excel.programme.simulate import simulate_returns

    generate_round(workspace, "R1")
    files = simulate_returns(workspace, "R1", rng_seed=7)
    result = ingest(workspace)
    assert len(result.files) == len(files)
    reasons = {p.code for f in result.rejected for p in f.problems}
    assert {"bad-rating", "attestation-incomplete"} <= reasons
    # the workbook sent under another contract's name is filed by its token, and needs a look
    assert [f.named_for for f in result.files if f.needs_a_look] != []
    assert result.count("rejected") == 2 and result.count("accepted") == len(files) - 2
