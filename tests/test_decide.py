"""The secretariat decides, and the register remembers (issues 11.8-11.10, 17.14, 17.15): decisions
on returns, workbooks and rounds with who, when and why; an audit row for every ingest run; status
and reminders that say what arrived and what was decided."""

from __future__ import annotations

import datetime as dt
import getpass
import json

import openpyxl
import pytest
from click.testing import CliRunner

from cmrg_excel import register as reg
from cmrg_excel.cli import cli
from cmrg_excel.intake.ingest import ingest
from cmrg_excel.issue.generate import close_round, generate_round
from cmrg_excel.programme.chase import chase_round
from cmrg_excel.programme.status import ACCEPTED, OUTSTANDING, load_round_status
from cmrg_excel.register import audit

from .returns import attestation, drop, filled, issue_of

LATER = dt.date(2030, 1, 1)


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def subs(ws) -> list[dict]:
    conn = reg.open_register(ws)
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM submissions ORDER BY id")]
    finally:
        conn.close()


def decisions(ws) -> list[audit.Decision]:
    conn = reg.open_register(ws)
    try:
        return audit.decisions(conn)
    finally:
        conn.close()


# --- 11.9 withdraw and reinstate a return --------------------------------------------------------

def test_withdraw_then_reinstate_an_accepted_return(issued):
    ws, _ = issued
    drop(ws, "C-0001.xlsx", filled(ws, "C-0001"))
    ingest(ws)
    (sub,) = subs(ws)
    r = run("decide", "withdraw", "C-0001", "--round", "R1", "--reason", "answers are C-0002's", "-w", ws.root)
    assert r.exit_code == 0, r.output
    assert f"Withdrew C-0001's return of round R1 (submission {sub['id']}" in r.output
    assert subs(ws)[0]["status"] == "withdrawn"
    (d,) = decisions(ws)
    assert (d.action, d.contract_id, d.round, d.submission_id, d.reason) == (
        "withdraw-return", "C-0001", "R1", sub["id"], "answers are C-0002's")
    assert d.os_user == getpass.getuser() and d.machine and d.made_at.startswith(str(dt.date.today().year))
    # it leaves the summary and the export; the owner can be chased, with the reason
    assert reg.answers(ws).empty
    history = reg.answers(ws, include_superseded=True)  # every return, marked: the export's --all-returns
    assert len(history) > 0 and set(history.submission_status) == {"withdrawn"}
    status = {c.contract_id: c for c in load_round_status(ws, today=LATER).contracts}
    assert status["C-0001"].state == OUTSTANDING
    assert any("withdrawn" in n and "answers are C-0002's" in n for n in status["C-0001"].notes)
    draft = {d.contract_id: d for d in chase_round(ws, "R1", today=LATER).drafts}["C-0001"]
    assert "was withdrawn by the review group: answers are C-0002's" in draft.status_text
    # history is kept: the file, the submission and its answers are all still there
    assert (ws.root / sub["stored_path"]).exists()
    r = run("decide", "reinstate", "C-0001", "--reason", "checked with the owner: they are C-0001's", "-w", ws.root)
    assert r.exit_code == 0, r.output
    assert subs(ws)[0]["status"] == "current"
    assert [d.action for d in decisions(ws)] == ["withdraw-return", "reinstate-return"]
    assert {c.contract_id: c.state for c in load_round_status(ws, today=LATER).contracts}["C-0001"] == ACCEPTED
    listing = run("decide", "list", "-w", ws.root)
    assert listing.exit_code == 0 and "withdraw-return" in listing.output and "reinstate-return" in listing.output


def test_decisions_need_a_reason_and_something_to_decide_on(issued):
    ws, _ = issued
    no_reason = run("decide", "withdraw", "C-0001", "-w", ws.root)
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    blank = run("decide", "withdraw", "C-0001", "--reason", "  ", "-w", ws.root)
    assert blank.exit_code == 2 and "reason" in blank.output
    nothing = run("decide", "withdraw", "C-0001", "--reason", "x", "-w", ws.root)
    assert nothing.exit_code == 1 and "C-0001 has no accepted return in round R1" in nothing.output
    unknown = run("decide", "withdraw", "C-9999", "--reason", "x", "-w", ws.root)
    assert unknown.exit_code == 1 and "C-9999" in unknown.output
    assert decisions(ws) == []


def test_reinstate_refuses_while_a_newer_return_is_current(issued):
    ws, _ = issued
    drop(ws, "C-0001.xlsx", filled(ws, "C-0001"))
    ingest(ws)
    assert run("decide", "withdraw", "C-0001", "--reason", "wrong answers", "-w", ws.root).exit_code == 0
    drop(ws, "C-0001 fixed.xlsx", filled(ws, "C-0001", att=attestation(name="Fixed")))
    ingest(ws)
    r = run("decide", "reinstate", "C-0001", "--reason", "oops", "-w", ws.root)
    assert r.exit_code == 1 and "is current now" in r.output
    assert [s["status"] for s in subs(ws)] == ["withdrawn", "current"]


# --- 11.8 needs a look, in status; confirmed by a decision ------------------------------------

def test_return_named_for_another_contract_needs_a_look_in_status_until_confirmed(issued):
    ws, _ = issued
    drop(ws, "C-0002.xlsx", filled(ws, "C-0001"))
    ingest(ws)
    r = run("status", "-w", ws.root)
    assert r.exit_code == 0, r.output
    assert "Accepted, needs a look" in r.output
    assert "C-0001: the file C-0002.xlsx is named for C-0002" in " ".join(r.output.split())
    status = {c.contract_id: c for c in load_round_status(ws, today=LATER).contracts}
    # C-0002 sent nothing of its own: status and its reminder say what arrived under its name
    assert status["C-0002"].state == OUTSTANDING
    assert any("C-0002.xlsx" in n and "C-0001's workbook" in n for n in status["C-0002"].notes)
    draft = {d.contract_id: d for d in chase_round(ws, "R1", today=LATER).drafts}["C-0002"]
    assert "C-0002.xlsx" in draft.status_text and "C-0001" in draft.status_text
    assert run("decide", "confirm", "C-0001", "--reason", "owner renamed it", "-w", ws.root).exit_code == 0
    assert "needs a look" not in run("status", "-w", ws.root).output


# --- 17.14 rejected files that belong to no contract ---------------------------------------------

def word_document() -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"/>')
        z.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats'
                   '.org/wordprocessingml/2006/main"/>')
    return out.getvalue()


def test_status_and_chaser_say_what_arrived_for_a_contract_and_why_it_could_not_be_used(issued):
    ws, _ = issued
    drop(ws, "C-0003 return.docx", word_document())
    drop(ws, "stray.pdf", b"%PDF-1.4 not ours")
    ingest(ws)
    status = load_round_status(ws, today=LATER)
    by = {c.contract_id: c for c in status.contracts}
    assert by["C-0003"].state == OUTSTANDING
    (note,) = by["C-0003"].notes
    assert "C-0003 return.docx" in note and "could not be used" in note and "Word document" in note
    assert status.unmatched_rejections == 2  # 11.16: every rejected file of the round that is no contract's
    r = run("status", "--deadline", "31/12/2099", "-w", ws.root)
    assert "Outstanding, file unusable" in r.output
    assert "2 rejected file(s) count for no contract" in r.output
    draft = {d.contract_id: d for d in chase_round(ws, "R1", today=LATER).drafts}["C-0003"]
    assert "C-0003 return.docx" in draft.status_text and "could not be used" in draft.status_text
    wb = openpyxl.load_workbook(ws.outbox / "status-R1.xlsx")
    assert any("C-0003 return.docx" in str(c.value) for row in wb["Status"].iter_rows() for c in row)


# --- 17.15 slips with a way back ----------------------------------------------------------------

@pytest.mark.parametrize("new, known, close", [
    ("2026-72", ["2026-27"], "2026-27"),   # digits swapped
    ("2026-72", ["2026-12"], "2026-12"),   # one digit mistyped, far from the real number
    ("2026 27", ["2026-27"], "2026-27"),   # the same name written differently
    ("r1", ["R1"], "R1"),
    ("2027-28", ["2026-27"], None),        # the next year
    ("R2", ["R1"], None),                  # the next round
    ("R10", ["R9"], None),
    ("Spring review", ["2026-27"], None),
])
def test_close_round_names(new, known, close):
    assert close_round(new, known) == close


def test_mistyped_round_warns_and_can_be_withdrawn(small_workspace):
    ws = small_workspace
    generate_round(ws, "2026-27", today=dt.date(2026, 11, 2))
    r = run("generate", "--round", "2026-72", "-w", ws.root)
    assert r.exit_code == 0, r.output
    assert "Warning: round 2026-72 is new, and its name is close to round 2026-27" in " ".join(r.output.split())
    assert "cmrg decide withdraw-round 2026-72" in r.output
    assert load_round_status(ws, today=LATER).round == "2026-72"
    data = filled(ws, "C-0001", round="2026-27")
    drop(ws, "early.xlsx", data)
    f = ingest(ws).files[0]  # the slip's damage: a return of 2026-27 is now from "an earlier round"
    assert f.outcome == "rejected" and f.problems[0].code == "old-round"
    r = run("decide", "withdraw-round", "2026-72", "--reason", "typed 2026-72 for 2026-27", "-w", ws.root)
    assert r.exit_code == 0, r.output
    assert "Withdrew round 2026-72: 3 workbook(s)" in r.output
    assert load_round_status(ws, today=LATER).round == "2026-27"  # the default round again
    drop(ws, "C-0001.xlsx", filled(ws, "C-0001", round="2026-27", att=attestation(name="Again")))
    assert ingest(ws).files[0].outcome == "accepted"
    drop(ws, "C-0002.xlsx", filled(ws, "C-0002", issue=_issue(ws, "C-0002", "2026-72")))
    f = ingest(ws).files[0]
    assert f.outcome == "rejected" and f.problems[0].code == "withdrawn"
    bad = run("status", "--round", "2026-72", "-w", ws.root)
    assert bad.exit_code == 1 and "was withdrawn" in bad.output and "typed 2026-72 for 2026-27" in bad.output
    assert [d.action for d in decisions(ws)] == ["withdraw-round"] * 3  # one row per workbook withdrawn
    no_warning = run("generate", "--round", "2027-28", "-w", ws.root)
    assert no_warning.exit_code == 0 and "Warning" not in no_warning.output


def test_withdraw_a_workbook_issued_by_mistake_reopens_the_one_it_replaced(issued):
    ws, _ = issued
    first = issue_of(ws, "C-0002")
    sent = (ws.root / first.file_path).read_bytes()  # the owner has this one, by email
    generate_round(ws, "R1", only=["C-0002"], force=True)  # by mistake: C-0002's workbook replaced
    r = run("decide", "withdraw-workbook", "C-0002", "--round", "R1", "--reason", "forced by mistake", "-w", ws.root)
    assert r.exit_code == 0, r.output
    assert "The workbook it had replaced is open again" in r.output
    assert issue_of(ws, "C-0002").token == first.token  # the first workbook is the open one again
    from cmrg_excel.programme.simulate import fill_return

    from .returns import complete_answers, framework_of

    drop(ws, "C-0002.xlsx", fill_return(sent, complete_answers(framework_of(ws, first)), attestation()))
    f = ingest(ws).files[0]
    assert f.outcome == "accepted", f.first_reason
    again = run("decide", "withdraw-workbook", "C-0002", "--round", "R1", "--reason", "x", "-w", ws.root)
    assert again.exit_code == 1 and "has an accepted return" in again.output


def _issue(ws, contract_id, round):
    conn = reg.open_register(ws)
    try:
        return next(i for i in reg.list_issues(conn, round) if i.contract_id == contract_id)
    finally:
        conn.close()


# --- 11.10 the audit trail ----------------------------------------------------------------------

def test_every_ingest_run_is_a_row_in_the_register(issued):
    ws, _ = issued
    drop(ws, "C-0001.xlsx", filled(ws, "C-0001"))
    drop(ws, "C-0002.xlsx", filled(ws, "C-0002", att=attestation(confirm="No")))
    first = ingest(ws)
    ingest(ws)  # an empty run is a run too
    conn = reg.open_register(ws)
    try:
        runs = audit.ingest_runs(conn)
    finally:
        conn.close()
    assert [r["state"] for r in runs] == ["finished", "finished"]
    r = runs[0]
    assert (r["files"], r["accepted"], r["rejected"], r["duplicates"], r["skipped"]) == (2, 1, 1, 0, 0)
    assert r["os_user"] == getpass.getuser() and r["machine"]
    assert r["started_at"] <= r["finished_at"]
    assert r["report_path"] == first.report.relative_to(ws.root).as_posix()
    assert runs[1]["files"] == 0


def test_a_run_killed_part_way_is_marked_interrupted_by_the_next(issued):
    ws, _ = issued
    conn = reg.open_register(ws)
    try:
        audit.start_run(conn)  # as a run killed before it could finish leaves it
    finally:
        conn.close()
    ingest(ws)
    conn = reg.open_register(ws)
    try:
        assert [r["state"] for r in audit.ingest_runs(conn)] == ["interrupted", "finished"]
    finally:
        conn.close()


def test_upgrade_from_schema_2_keeps_everything_and_allows_a_recheck(issued, tmp_path):
    """A register of the previous version (file_sha256 UNIQUE, no audit tables) is upgraded in place."""
    import sqlite3

    ws, _ = issued
    drop(ws, "C-0001.xlsx", filled(ws, "C-0001"))
    ingest(ws)
    path = ws.register_path
    raw = sqlite3.connect(path)
    raw.executescript("""
        PRAGMA foreign_keys=OFF;
        CREATE TABLE old AS SELECT * FROM submissions;
        DROP TABLE submissions;
        CREATE TABLE submissions (
            id INTEGER PRIMARY KEY AUTOINCREMENT, file_sha256 TEXT NOT NULL UNIQUE, original_name TEXT NOT NULL,
            stored_path TEXT NOT NULL, received_at TEXT NOT NULL, outcome TEXT NOT NULL, status TEXT, token TEXT,
            contract_id TEXT, round TEXT, framework_hash TEXT, supersedes INTEGER REFERENCES submissions(id),
            corrects INTEGER REFERENCES submissions(id), attested_name TEXT, attested_role TEXT, attested_on TEXT,
            problems TEXT NOT NULL DEFAULT '[]', corrections TEXT NOT NULL DEFAULT '{}', mapping TEXT, entered TEXT);
        INSERT INTO submissions SELECT id, file_sha256, original_name, stored_path, received_at, outcome, status,
            token, contract_id, round, framework_hash, supersedes, corrects, attested_name, attested_role,
            attested_on, problems, corrections, mapping, entered FROM old;
        DROP TABLE old;
        DROP TABLE ingest_runs;
        DROP TABLE decisions;
        UPDATE meta SET value='2' WHERE key='schema_version';
    """)
    raw.execute("INSERT INTO submissions (file_sha256, original_name, stored_path, received_at, outcome, problems) "
                "VALUES ('f' || hex(randomblob(31)), 'big.xlsx', 'inbox/rejected/big.xlsx', '2026-11-03T10:00:00+00:00',"
                " 'rejected', ?)", (json.dumps([{"code": "too-large", "message": "too big"}]),))
    raw.commit()
    raw.close()
    answers_before = len(reg.answers(ws))
    conn = reg.open_register(ws)
    try:
        assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "3"
        assert [r["recheck"] for r in conn.execute("SELECT recheck FROM submissions ORDER BY id")] == [0, 1]
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name='submissions'").fetchone()[0]
        assert "UNIQUE" not in sql.upper()
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert audit.ingest_runs(conn) == []
    finally:
        conn.close()
    assert len(reg.answers(ws)) == answers_before > 0
    assert run("status", "-w", ws.root).exit_code == 0
