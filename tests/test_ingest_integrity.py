"""What is filed is exactly what was checked (issues 11 and 17): copies, never links; files still
being saved left alone; nothing in inbox/ skipped without a word; nothing filed ever deleted;
the newest return wins; refusals caused by our own limits re-checked."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import threading
import time

import pytest

from cmrg_excel import register as reg
from cmrg_excel.core.workspace import open_workspace
from cmrg_excel.intake.ingest import ingest
from cmrg_excel.intake.read import HANG_HOOK

from .returns import attestation, complete_answers, drop, filled, framework_of, issue_of

PAST = 1_700_000_000  # a modification time long settled


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def settled(path, when: float = PAST) -> None:
    os.utime(path, (when, when))


def setting(ws, key: str, value: str):
    """Set an [ingest] setting in cmrg.toml and reopen the workspace."""
    cfg = ws.root / "cmrg.toml"
    lines = [line for line in cfg.read_text().split("\n") if not line.startswith(f"{key} = ")]
    at = lines.index("[ingest]") + 1
    lines.insert(at, f"{key} = {value}")
    cfg.write_text("\n".join(lines))
    return open_workspace(ws.root)


def submissions(ws) -> list[dict]:
    conn = reg.open_register(ws)
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM submissions ORDER BY id")]
    finally:
        conn.close()


def registered_files_intact(ws) -> None:
    """Every path the register records exists and holds the bytes of its hash."""
    for s in submissions(ws):
        path = ws.root / s["stored_path"]
        assert path.is_file(), f"{s['stored_path']} (submission {s['id']}) was deleted"
        assert sha(path.read_bytes()) == s["file_sha256"], f"{s['stored_path']} changed after filing"


# --- 11.1 a copy of the bytes checked, never a link --------------------------------------------

@pytest.mark.parametrize("good", [True, False], ids=["accepted", "rejected"])
def test_archive_is_a_copy_a_second_link_cannot_change(issued, tmp_path, good):
    ws, _ = issued
    data = filled(ws, "C-0001", att=None if good else attestation(confirm="No"))
    p = drop(ws, "C-0001.xlsx", data)
    settled(p)
    elsewhere = tmp_path / "sync-client-copy.xlsx"
    os.link(p, elsewhere)  # the same file under another name: a sync client, a colleague's folder
    f = ingest(ws).files[0]
    assert f.outcome == ("accepted" if good else "rejected")
    stored = ws.root / f.stored
    assert stored.stat().st_ino != elsewhere.stat().st_ino
    with open(elsewhere, "r+b") as fh:  # the other name is written to after the decision
        fh.write(b"PK\x03\x04 overwritten by a sync client")
    assert stored.read_bytes() == data
    registered_files_intact(ws)


# --- 11.2 a file still being saved is left for the next run ----------------------------------

def test_file_still_being_written_is_left_in_inbox_then_filed_when_complete(issued):
    ws, _ = issued
    ws = setting(ws, "settle_seconds", "0.3")
    data = filled(ws, "C-0001")
    path = ws.inbox / "C-0001.xlsx"
    started, stop = threading.Event(), threading.Event()

    def writer():  # a slow copy: a chunk every 10 ms until the file is complete
        with open(path, "wb") as fh:
            for i in range(0, len(data), 128):
                fh.write(data[i:i + 128])
                fh.flush()
                started.set()
                if stop.wait(0.01):
                    break
            fh.write(data[fh.tell():])

    t = threading.Thread(target=writer)
    t.start()
    started.wait(5)
    try:
        result = ingest(ws)
    finally:
        stop.set()
        t.join()
    (f,) = result.files
    assert f.outcome == "skipped"
    assert "still being saved, left in inbox/ for the next run" in f.first_reason
    assert path.read_bytes() == data  # untouched, complete now
    assert submissions(ws) == [] and not [p for p in ws.archive.rglob("*") if p.is_file()]
    assert not [p for p in ws.rejected.rglob("*") if p.is_file()]
    again = ingest(ws).files[0]
    assert again.outcome == "accepted" and (ws.root / again.stored).read_bytes() == data
    assert not path.exists()


def test_file_changed_between_check_and_filing_is_left_in_inbox(issued):
    ws, _ = issued
    first = drop(ws, "a/C-0001.xlsx", filled(ws, "C-0001"))
    second = drop(ws, "b/C-0002.xlsx", filled(ws, "C-0002"))
    settled(first, PAST)
    settled(second, PAST + 10)  # filed after the first
    newer = filled(ws, "C-0002", att=attestation(name="Saved again"))

    def saved_again(done):  # once the first is filed, the owner saves the second again
        if done.name == "C-0001.xlsx":
            second.write_bytes(newer)

    result = ingest(ws, progress=saved_again)
    by = {f.name: f for f in result.files}
    assert by["C-0001.xlsx"].outcome == "accepted"
    f = by["C-0002.xlsx"]
    assert f.outcome == "skipped" and "still being saved, left in inbox/ for the next run" in f.first_reason
    assert second.read_bytes() == newer
    assert [s["original_name"] for s in submissions(ws)] == ["C-0001.xlsx"]
    registered_files_intact(ws)


# --- 11.3 nothing in inbox/ silently skipped --------------------------------------------------

def test_links_folders_and_devices_are_listed_with_reason_and_never_followed(issued, tmp_path):
    ws, _ = issued
    outside = tmp_path / "outside.xlsx"
    outside.write_bytes(filled(ws, "C-0002"))
    os.symlink(outside, ws.inbox / "C-0002.xlsx")  # a link to a file outside the workspace
    os.symlink(tmp_path, ws.inbox / "linked folder")  # a link to a folder outside
    os.symlink(ws.inbox / "nowhere.xlsx", ws.inbox / "broken.xlsx")  # a link to nothing
    (ws.inbox / "C-0003.xlsx").mkdir()  # a folder named like a workbook (an unzipped one, say)
    (ws.inbox / "C-0003.xlsx" / "[Content_Types].xml").write_text("<Types/>")
    os.mkfifo(ws.inbox / "pipe.xlsx")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(ws.inbox / "socket.xlsx"))
    try:
        drop(ws, "C-0001.xlsx", filled(ws, "C-0001"))
        result = ingest(ws)
    finally:
        sock.close()
    by = {f.name: f for f in result.files}
    assert by["C-0001.xlsx"].outcome == "accepted"
    expect = {"C-0002.xlsx": "link", "linked folder": "link", "broken.xlsx": "link", "C-0003.xlsx": "folder",
              "pipe.xlsx": "not-a-file", "socket.xlsx": "not-a-file"}
    for name, code in expect.items():
        f = by[name]
        assert f.outcome == "skipped", name
        assert [p.code for p in f.problems] == [code], name
        assert "left in inbox/" in f.first_reason, name
    assert "copy the file itself into inbox/" in by["C-0002.xlsx"].first_reason
    assert "not a file" in by["pipe.xlsx"].first_reason
    assert len(submissions(ws)) == 1  # nothing behind a link was read or filed
    assert outside.exists() and (ws.inbox / "C-0002.xlsx").is_symlink()
    assert (ws.inbox / "C-0003.xlsx" / "[Content_Types].xml").exists()  # not filed as a return
    import openpyxl

    files = openpyxl.load_workbook(result.report)["Files"]
    table = files.tables["Files"]  # the report's title and note sit above its table
    rows = [[c.value for c in row] for row in files[table.ref]]
    at = rows[0].index("Outcome")
    listed = {row[0]: row[at] for row in rows[1:]}
    assert {k: listed.get(k) for k in expect} == {k: "skipped" for k in expect}


def test_unreadable_file_is_listed_with_what_to_do(issued):
    ws, _ = issued
    p = drop(ws, "C-0001.xlsx", filled(ws, "C-0001"))
    p.chmod(0)
    try:
        p.read_bytes()
        p.chmod(0o644)
        pytest.skip("this user reads files whatever their permissions (root with CAP_DAC_OVERRIDE)")
    except PermissionError:
        pass
    try:
        (f,) = ingest(ws).files
    finally:
        p.chmod(0o644)
    assert f.outcome == "skipped" and f.problems[0].code == "unreadable"
    assert "left in inbox/" in f.first_reason and "run cmrg ingest again" in f.first_reason
    assert p.exists()


# --- 11.5 nothing filed is ever deleted --------------------------------------------------------

def test_a_return_named_like_a_problems_note_is_never_deleted(issued):
    ws, _ = issued
    drop(ws, "C-0001.problems.txt", filled(ws, "C-0001", att=attestation(confirm="No")))
    drop(ws, "notes.problems.txt", b"just some text\n")
    first = ingest(ws)
    assert {f.outcome for f in first.files} == {"rejected"}
    for f in first.files:
        assert not f.stored.endswith(".problems.txt"), f.stored  # a note never shares a return's name
    ingest(ws)
    ingest(ws)
    registered_files_intact(ws)


def test_rejected_files_moved_back_into_inbox_are_never_deleted(issued):
    ws, _ = issued
    drop(ws, "C-0001.xlsx", filled(ws, "C-0001", att=attestation(confirm="No")))
    drop(ws, "C-0002.xlsx", b"not a workbook at all")
    ingest(ws)
    for p in list(ws.rejected.iterdir()):  # an officer moves everything back to retry
        shutil.move(str(p), str(ws.inbox / p.name))
    second = ingest(ws)
    notes = [f for f in second.files if f.name.endswith(".problems.txt")]
    assert len(notes) == 2 and all(f.outcome == "skipped" and f.problems[0].code == "problems-note" for f in notes)
    assert "Move it back to inbox/rejected/" in notes[0].first_reason
    returns = [f for f in second.files if f not in notes]
    assert {f.outcome for f in returns} == {"duplicate"}
    assert {f.stored for f in returns} == {"inbox/rejected/C-0001.xlsx", "inbox/rejected/C-0002.xlsx"}  # put back
    registered_files_intact(ws)
    for f in notes:  # the officer puts the notes back too; nothing is lost or deleted
        shutil.move(str(ws.root / f.source), str(ws.rejected / f.name))
    third = ingest(ws)
    assert third.files == []
    registered_files_intact(ws)
    assert len(submissions(ws)) == 2 and len(list(ws.rejected.glob("*.problems.txt"))) == 2


# --- 17.1 the newest return wins ---------------------------------------------------------------

def test_newest_return_wins_whatever_the_reading_order(issued):
    ws, _ = issued
    fw = framework_of(ws, issue_of(ws, "C-0001"))
    big = complete_answers(fw, seed=1)
    for i, a in enumerate(big.values()):  # a large first attempt: slow to read
        a["evidence"] = (f"Long evidence {i} " + "lorem ipsum dolor sit amet " * 140)[:3900]
        if a.get("action"):
            a["action"] = ("Long action " + "consectetur adipiscing " * 60)[:1900]
    small = complete_answers(fw, seed=2)
    for attempt in range(3):
        older = filled(ws, "C-0001", answers=big, att=attestation(name=f"Older {attempt}"))
        newer = filled(ws, "C-0001", answers=small, att=attestation(name=f"Newer {attempt}"))
        others = [filled(ws, cid, att=attestation(name=f"Other {attempt}")) for cid in ("C-0002", "C-0003")]
        t = PAST + 100 * attempt
        settled(drop(ws, f"first attempt {attempt}.xlsx", older), t)
        settled(drop(ws, f"C-0002 {attempt}.xlsx", others[0]), t + 10)  # the other worker reads the newer one
        settled(drop(ws, f"second attempt {attempt}.xlsx", newer), t + 20)
        settled(drop(ws, f"C-0003 {attempt}.xlsx", others[1]), t + 30)
        result = ingest(ws)
        by = {f.name: f for f in result.files}
        new = by[f"second attempt {attempt}.xlsx"]
        old = by[f"first attempt {attempt}.xlsx"]
        assert [f.name for f in result.files] == [old.name, f"C-0002 {attempt}.xlsx", new.name,
                                                  f"C-0003 {attempt}.xlsx"]  # filed oldest first
        assert {f.outcome for f in result.files} == {"accepted"}
        assert new.supersedes == old.submission_id
        assert any("replaces" in str(n) and old.name in str(n) for n in new.notes), [str(n) for n in new.notes]
        current = [s for s in submissions(ws) if s["status"] == "current" and s["contract_id"] == "C-0001"]
        assert [s["attested_name"] for s in current] == [f"Newer {attempt}"]


# --- 17.2 refusals caused by our own limits are re-checked ----------------------------------------

def test_same_bytes_refused_for_size_are_accepted_after_the_limit_is_raised(issued):
    ws, _ = issued
    data = filled(ws, "C-0001")
    small = setting(ws, "max_file_mb", "0.01")
    drop(small, "C-0001.xlsx", data)
    f = ingest(small).files[0]
    assert f.outcome == "rejected" and f.problems[0].code == "too-large"
    roomy = setting(ws, "max_file_mb", "10")
    drop(roomy, "C-0001 again.xlsx", data)
    again = ingest(roomy).files[0]
    assert again.outcome == "accepted", again.first_reason
    assert [s["outcome"] for s in submissions(ws)] == ["rejected", "accepted"]
    registered_files_intact(ws)
    drop(roomy, "C-0001 third.xlsx", data)  # accepted bytes coming back are a duplicate, as before
    assert ingest(roomy).files[0].outcome == "duplicate"


def test_same_bytes_that_timed_out_are_read_again(issued, monkeypatch):
    ws, _ = issued
    ws = setting(ws, "file_timeout_seconds", "1")
    data = filled(ws, "C-0001")
    drop(ws, "C-0001.xlsx", data)
    monkeypatch.setenv(HANG_HOOK, "C-0001.xlsx")
    f = ingest(ws).files[0]
    assert f.outcome == "rejected" and "took longer than 1 seconds" in f.first_reason
    monkeypatch.delenv(HANG_HOOK)
    drop(ws, "C-0001.xlsx", data)
    again = ingest(ws).files[0]
    assert again.outcome == "accepted", again.first_reason


def test_a_rejection_for_what_the_owner_wrote_is_still_a_duplicate(issued):
    ws, _ = issued
    data = filled(ws, "C-0001", att=attestation(confirm="No"))
    drop(ws, "C-0001.xlsx", data)
    assert ingest(ws).files[0].outcome == "rejected"
    drop(ws, "C-0001.xlsx", data)
    assert ingest(ws).files[0].outcome == "duplicate"
