"""Another program writing to the register, a folder that cannot be written, two commands at once
(issues 11.11, 11.16, 17.10): a clear sentence and a meaningful exit code, what was filed kept and
reported, and commands that only read never waiting for a writer."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import pytest
from click.testing import CliRunner

from cmrg_excel import register as reg
from cmrg_excel.cli import cli
from cmrg_excel.intake import ingest as ingest_mod
from cmrg_excel.intake.ingest import IngestStopped, ingest

from .returns import attestation, drop, filled
from .test_ingest_integrity import PAST, registered_files_intact, settled, submissions


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@contextmanager
def another_program_writing(ws):
    """A database tool with changes not yet saved: it holds the register's write lock."""
    other = sqlite3.connect(ws.register_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        other.execute("ROLLBACK")
        other.close()


@pytest.fixture
def quick_busy(monkeypatch):
    monkeypatch.setattr(reg, "BUSY_SECONDS", 0.3)


def test_read_only_commands_never_wait_for_a_writer(issued, quick_busy, tmp_path):
    ws, _ = issued
    drop(ws, "C-0001.xlsx", filled(ws, "C-0001"))
    ingest(ws)
    with another_program_writing(ws):
        status = run("status", "-w", ws.root)
        assert status.exit_code == 0, status.output
        assert "accepted 1" in status.output
        export = run("register", "--out", tmp_path / "answers.csv", "-w", ws.root)
        assert export.exit_code == 0, export.output
        summary = run("summary", "--round", "R1", "-w", ws.root)
        assert summary.exit_code == 0, summary.output


def test_busy_register_at_start_says_busy(issued, quick_busy):
    ws, _ = issued
    dropped = drop(ws, "C-0001.xlsx", filled(ws, "C-0001"))
    reg.open_register(ws).close()
    with another_program_writing(ws):
        r = run("ingest", "-w", ws.root)
    assert r.exit_code == 3, r.output
    assert "the register is busy (another program is writing to it" in r.output
    assert "not a usable register" not in r.output and "Traceback" not in r.output
    assert dropped.exists()


def test_busy_register_mid_run_stops_keeping_what_was_filed(issued, quick_busy, monkeypatch):
    ws, _ = issued
    monkeypatch.setattr(ingest_mod, "COMMIT_EVERY", 1)  # each file committed as it is filed
    for i, cid in enumerate(("C-0001", "C-0002", "C-0003")):
        settled(drop(ws, f"{cid}.xlsx", filled(ws, cid)), PAST + i)
    holder = []

    def after_first(done):  # another program starts writing once the first file is filed
        if not holder:
            other = sqlite3.connect(ws.register_path, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            holder.append(other)

    try:
        with pytest.raises(IngestStopped) as stopped:
            ingest(ws, progress=after_first)
    finally:
        for other in holder:
            other.execute("ROLLBACK")
            other.close()
    err = stopped.value
    assert err.exit_code == 3
    assert str(err).startswith("the register is busy (another program is writing to it")
    assert "what was filed so far is kept; run cmrg ingest again" in str(err)
    by = {f.name: f for f in err.result.files}
    assert by["C-0001.xlsx"].outcome == "accepted" and (ws.root / by["C-0001.xlsx"].stored).exists()
    assert by["C-0002.xlsx"].outcome == "skipped" and by["C-0002.xlsx"].problems[0].code == "stopped"
    assert [s["original_name"] for s in submissions(ws)] == ["C-0001.xlsx"]
    assert (ws.inbox / "C-0002.xlsx").exists() and (ws.inbox / "C-0003.xlsx").exists()
    assert not (ws.inbox / "C-0001.xlsx").exists()
    assert len([p for p in ws.archive.rglob("*") if p.is_file()]) == 1  # no copy left unregistered
    again = ingest(ws)
    assert sorted(f.outcome for f in again.files) == ["accepted", "accepted"]
    registered_files_intact(ws)


def test_unwritable_archive_stops_and_reports_what_was_already_filed(issued):
    ws, _ = issued
    settled(drop(ws, "C-0002.xlsx", filled(ws, "C-0002", att=attestation(confirm="No"))), PAST)
    settled(drop(ws, "C-0001.xlsx", filled(ws, "C-0001")), PAST + 10)
    (ws.archive / "R1").write_text("a file where the round's folder should be")
    r = run("ingest", "-w", ws.root)
    assert r.exit_code == 1, r.output
    out = " ".join(r.output.split())
    assert "Stopped part way: 2 file(s) looked at before it stopped: 0 accepted, 1 rejected" in out
    assert "C-0002.xlsx" in out and "could not be written" in out and "what was filed so far is kept" in out
    assert "Traceback" not in r.output
    assert [s["original_name"] for s in submissions(ws)] == ["C-0002.xlsx"]
    assert (ws.inbox / "C-0001.xlsx").exists() and not (ws.inbox / "C-0002.xlsx").exists()
    conn = reg.open_register(ws)
    try:
        (row,) = conn.execute("SELECT state, rejected, message FROM ingest_runs").fetchall()
    finally:
        conn.close()
    assert row[0] == "stopped" and row[1] == 1 and "could not be written" in row[2]
    (ws.archive / "R1").unlink()
    assert ingest(ws).files[0].outcome == "accepted"
    registered_files_intact(ws)


def test_chase_takes_the_workspace_lock(issued):
    ws, _ = issued
    with ws.lock("generate --force"):
        r = run("chase", "--wait", "0.2", "-w", ws.root)
    assert r.exit_code == 3 and "another cmrg run is using this workspace" in r.output
    assert not list(ws.outbox.glob("R1/chase-*"))
