"""cmrg plan never replaces a plan workbook the secretariat has changed (or has open in Excel)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os

import openpyxl
import pytest
from click.testing import CliRunner

from cmrg_excel.cli import cli
from cmrg_excel.core.errors import EXIT_INPUT
from cmrg_excel.issue.plan import PlanSettings, make_plan
from cmrg_excel.issue.plan_workbook import PlanWorkbookKept, plan_record_path, plan_workbook_state, read_plan_schedule, save_plan_workbook
from tests.conftest import make_contract

DEC = dt.datetime(2026, 12, 1)
JAN = dt.datetime(2027, 1, 1)
# When the secretariat saved their edits (local time): it names the kept copy.
SAVED = dt.datetime(2026, 11, 27, 15, 30)
KEPT = "review-plan (saved 27-11-2026 1530).xlsx"


def run(ws, *args):
    return CliRunner().invoke(cli, ["plan", "--from", "01/12/2026", *args, "-w", str(ws.root)],
                              catch_exceptions=False)


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def outbox_files(ws) -> dict[str, str]:
    """Every file in outbox/, hidden ones included, with its SHA-256."""
    return {p.name: sha(p) for p in ws.outbox.iterdir() if p.is_file()}


def record(ws) -> dict:
    return json.loads((ws.outbox / ".review-plan.json").read_text(encoding="utf-8"))


def move_first_december_review_to_january(path) -> str:
    """What the group does in Excel: one review moved to another month, then saved. Returns its ID."""
    wb = openpyxl.load_workbook(path)
    sheet = wb["Schedule"]
    row = next(r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 1).value == DEC)
    sheet.cell(row, 1).value = JAN
    moved = sheet.cell(row, 2).value
    wb.save(path)
    os.utime(path, (SAVED.timestamp(), SAVED.timestamp()))
    return moved


@pytest.fixture
def planned(workspace):
    res = run(workspace)
    assert res.exit_code == 0, res.output
    return workspace


@pytest.fixture
def edited(planned):
    """The plan workbook with a review moved from December to January and saved."""
    path = planned.outbox / "review-plan.xlsx"
    moved = move_first_december_review_to_january(path)
    assert {e.contract_id: e.month for e in read_plan_schedule(path)}[moved] == JAN.date()
    return planned, moved


# --- (a) an unchanged workbook is simply replaced ---------------------------------------
def test_plan_records_what_it_wrote_and_replaces_its_own_unchanged_workbook(planned):
    path = planned.outbox / "review-plan.xlsx"
    first = record(planned)
    assert first["file"] == "review-plan.xlsx" and first["sha256"] == sha(path)
    written = dt.datetime.fromisoformat(first["written_at"])
    assert written.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.timezone.utc) - written) < dt.timedelta(minutes=5)

    res = run(planned, "--months", "4")  # a different plan, over the unchanged one
    assert res.exit_code == 0, res.output
    assert "kept as" not in res.output
    assert set(outbox_files(planned)) == {"review-plan.xlsx", ".review-plan.json"}  # no copy kept
    assert record(planned)["sha256"] == sha(path)
    assert max(e.month for e in read_plan_schedule(path)) == dt.date(2027, 3, 1)  # the new plan is there


# --- (b) a changed workbook is left alone ----------------------------------------------
def test_a_changed_workbook_is_not_replaced(edited):
    ws, _ = edited
    path = ws.outbox / "review-plan.xlsx"
    before = outbox_files(ws)
    written = dt.datetime.fromisoformat(record(ws)["written_at"]).astimezone()

    res = run(ws)
    assert res.exit_code == EXIT_INPUT
    assert "Traceback" not in res.output
    assert (f"Error: outbox/review-plan.xlsx has been changed since cmrg wrote it on {written:%d/%m/%Y} at "
            f"{written:%H:%M} (it may hold the group's moves between months), so it was not replaced.") in res.output
    assert "run 'cmrg plan --replace'" in res.output and f"kept as outbox/{KEPT}." in res.output
    assert outbox_files(ws) == before  # the edits, byte for byte; no new file; the record as it was
    assert sha(path) == before["review-plan.xlsx"]


# --- (c) --replace keeps it under a dated name, then writes the new plan ----------------
def test_replace_keeps_the_changed_workbook_and_writes_a_new_plan(edited):
    ws, moved = edited
    path = ws.outbox / "review-plan.xlsx"
    edited_sha = sha(path)

    res = run(ws, "--replace")
    assert res.exit_code == 0, res.output
    kept = ws.outbox / KEPT
    assert f"Previous workbook kept as: outbox/{KEPT}" in res.output.splitlines()
    assert sha(kept) == edited_sha  # the group's moves, byte for byte
    assert {e.contract_id: e.month for e in read_plan_schedule(kept)}[moved] == JAN.date()
    # a fresh plan in its place, readable, with the review back in December, and recorded as cmrg's own
    assert {e.contract_id: e.month for e in read_plan_schedule(path)}[moved] == DEC.date()
    assert record(ws)["sha256"] == sha(path) != edited_sha
    assert set(outbox_files(ws)) == {"review-plan.xlsx", ".review-plan.json", KEPT}
    # and the new one is replaced freely until someone changes it
    assert run(ws).exit_code == 0 and set(outbox_files(ws)) == {"review-plan.xlsx", ".review-plan.json", KEPT}


def test_replace_never_overwrites_an_earlier_kept_copy(edited):
    ws, _ = edited
    path = ws.outbox / "review-plan.xlsx"
    (ws.outbox / KEPT).write_bytes(b"an earlier copy")
    edited_sha = sha(path)
    res = run(ws)
    assert res.exit_code == EXIT_INPUT and "kept as outbox/review-plan (saved 27-11-2026 1530) (2).xlsx" in res.output
    res = run(ws, "--replace")
    assert res.exit_code == 0, res.output
    assert (ws.outbox / KEPT).read_bytes() == b"an earlier copy"
    assert sha(ws.outbox / "review-plan (saved 27-11-2026 1530) (2).xlsx") == edited_sha


def test_replace_with_an_unchanged_workbook_keeps_no_copy(planned):
    res = run(planned, "--replace")
    assert res.exit_code == 0, res.output
    assert set(outbox_files(planned)) == {"review-plan.xlsx", ".review-plan.json"}


# --- (d) no record: cmrg cannot tell, so it counts as changed ---------------------------
@pytest.mark.parametrize("damage", ["deleted", "garbled", "another file's"])
def test_a_workbook_without_a_record_counts_as_changed(planned, damage):
    path = planned.outbox / "review-plan.xlsx"
    note = plan_record_path(path)
    assert note == planned.outbox / ".review-plan.json"
    if damage == "deleted":
        note.unlink()
    elif damage == "garbled":
        note.write_text("{not json", encoding="utf-8")
    else:
        note.write_text(json.dumps({**record(planned), "file": "other.xlsx"}), encoding="utf-8")
    os.utime(path, (SAVED.timestamp(), SAVED.timestamp()))
    before = outbox_files(planned)

    res = run(planned)
    assert res.exit_code == EXIT_INPUT
    assert "Traceback" not in res.output
    assert ("cmrg has no note of writing outbox/review-plan.xlsx (it may come from an older version of cmrg, or "
            "have been copied in), so it cannot tell whether the workbook holds the group's moves between months, "
            "and did not replace it.") in res.output
    assert "cmrg wrote it on" not in res.output
    assert outbox_files(planned) == before

    unrecorded = sha(path)
    assert run(planned, "--replace").exit_code == 0
    assert sha(planned.outbox / KEPT) == unrecorded
    assert record(planned)["sha256"] == sha(path)


# --- (e) open in Excel (or LibreOffice): never touched ----------------------------------
@pytest.mark.parametrize("lock, program", [("~$review-plan.xlsx", "Excel"),
                                           (".~lock.review-plan.xlsx#", "LibreOffice")])
@pytest.mark.parametrize("changed", [False, True])
def test_an_open_workbook_is_not_replaced_even_with_replace(planned, lock, program, changed):
    path = planned.outbox / "review-plan.xlsx"
    if changed:
        move_first_december_review_to_january(path)
    (planned.outbox / lock).write_bytes(b"\x00" * 165)
    before = outbox_files(planned)
    for extra in ([], ["--replace"]):
        res = run(planned, *extra)
        assert res.exit_code == EXIT_INPUT
        assert "Traceback" not in res.output
        assert (f"Error: outbox/review-plan.xlsx is open in {program} (its lock file outbox/{lock} is there), so "
                f"it was not replaced. Close it in {program} first") in res.output
        assert f"delete outbox/{lock}" in res.output  # a lock file left behind by a crash
        assert outbox_files(planned) == before

    # closed: the lock file goes, and plan carries on as usual
    (planned.outbox / lock).unlink()
    assert run(planned, "--replace").exit_code == 0
    assert (planned.outbox / KEPT).exists() == changed


def test_a_lock_file_without_a_workbook_does_not_stop_a_first_plan(workspace):
    (workspace.outbox / "~$review-plan.xlsx").write_bytes(b"stale")
    res = run(workspace)
    assert res.exit_code == 0, res.output
    assert read_plan_schedule(workspace.outbox / "review-plan.xlsx")


# --- the stage function, for callers other than the command line ------------------------
def test_save_plan_workbook_guards_the_workbook_for_any_caller(tmp_path):
    contracts = [make_contract("A-1"), make_contract("B-2", directorate="B")]
    plan = make_plan(contracts, PlanSettings(), dt.date(2026, 12, 1))
    path = tmp_path / "review-plan.xlsx"
    assert plan_workbook_state(path).changed is False
    first = save_plan_workbook(plan, path)
    assert first.kept is None and not plan_workbook_state(path).changed
    assert save_plan_workbook(plan, path).kept is None  # its own, unchanged: replaced

    path.write_bytes(path.read_bytes() + b"\0")  # any change at all
    state = plan_workbook_state(path)
    assert state.changed and state.recorded_sha256 is not None and state.written_at.tzinfo is not None
    with pytest.raises(PlanWorkbookKept, match=r"plans/review-plan\.xlsx has been changed since cmrg wrote it"):
        save_plan_workbook(plan, path, name="plans/review-plan.xlsx")
    changed = path.read_bytes()
    saved = save_plan_workbook(plan, path, replace=True)
    assert saved.kept is not None and saved.kept.parent == tmp_path and saved.kept.read_bytes() == changed
    assert saved.kept.name.startswith("review-plan (saved ") and not plan_workbook_state(path).changed


# --- what the help says -----------------------------------------------------------------
def test_plan_help_explains_that_edits_are_kept():
    out = CliRunner().invoke(cli, ["plan", "--help"]).output
    assert "--replace" in out and "cmrg plan --from 01/04/2027 --replace" in out
    text = " ".join(out.split())  # as wrapped for any terminal width
    assert "keep a copy of one you have edited" not in text
    assert "Your edits are never lost" in text and "If the workbook is open in Excel, close it first" in text


def test_a_workbook_that_cannot_be_moved_aside_is_left_as_it_is(edited, monkeypatch):
    ws, _ = edited
    path = ws.outbox / "review-plan.xlsx"
    before = outbox_files(ws)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "link", refuse)
    monkeypatch.setattr(os, "rename", refuse)
    res = run(ws, "--replace")
    assert res.exit_code == EXIT_INPUT and "Traceback" not in res.output
    assert ("Error: outbox/review-plan.xlsx could not be moved aside to keep it (Permission denied), so no new plan "
            "was written") in res.output
    assert outbox_files(ws) == before and sha(path) == before["review-plan.xlsx"]
