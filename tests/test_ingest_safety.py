"""Ingest under attack and under failure: hostile files, worker crashes and hangs, SIGKILL part-way, two runs at once."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest

from cmrg_excel import register as reg
from cmrg_excel.intake.ingest import ingest
from cmrg_excel.intake.preflight import Limits
from cmrg_excel.intake.read import ABORT_HOOK, HANG_HOOK, ReaderPool
from cmrg_excel.core.workspace import open_workspace

from . import hostile
from .returns import attestation, drop, filled

HOSTILE = [
    ("zip_bomb", lambda: hostile.zip_bomb(), "zip-bomb"),
    ("lying_header", lambda: hostile.lying_header(), "zip-bomb"),
    ("billion_laughs", lambda: hostile.billion_laughs(), "doctype"),
    ("xxe", lambda: hostile.xxe(), "doctype"),
    ("far_cell", lambda: hostile.far_cell(), "cell-out-of-bounds"),
    ("far_dimension", lambda: hostile.far_dimension(), "cell-out-of-bounds"),
    ("encrypted", lambda: hostile.encrypted(), "encrypted"),
    ("legacy_xls", lambda: hostile.legacy_xls(), "legacy-xls"),
    ("macro_enabled", lambda: hostile.macro_enabled(), "macro-enabled"),
    ("external_link", lambda: hostile.external_link(), "external-link"),
    ("embedded_object", lambda: hostile.embedded_object(), "embedded-object"),
    ("activex", lambda: hostile.activex(), "activex"),
    ("ods", lambda: hostile.ods(), "ods"),
    ("csv", lambda: hostile.csv_bytes(), "csv"),
    ("pdf", lambda: hostile.pdf_bytes(), "pdf"),
    ("truncated", lambda: hostile.truncated(hostile.valid_xlsx()), "truncated"),
    ("empty", lambda: hostile.empty(), "empty"),
]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_consistent(ws, originals: dict[str, str]) -> None:
    """Every original file is in exactly one place, registered at most once, and nothing else is there."""
    found: dict[str, list[str]] = {}
    for top in (ws.inbox, ws.archive):
        for p in top.rglob("*"):
            if p.is_file() and not p.name.endswith(".problems.txt"):
                found.setdefault(sha(p.read_bytes()), []).append(p.relative_to(ws.root).as_posix())
    assert set(found) == set(originals), "files lost or unexpected files"
    for digest, places in found.items():
        assert len(places) == 1, f"{originals[digest]} is in {places}"
        assert not (places[0].startswith("inbox/") and places[0].split("/")[1] not in ("rejected", "duplicates")), \
            f"{places[0]} left in the inbox"
    conn = reg.open_register(ws)
    try:
        subs = [dict(r) for r in conn.execute("SELECT * FROM submissions")]
        assert conn.execute("SELECT COUNT(*) FROM inbox_pending").fetchone()[0] == 0
        current = conn.execute("SELECT contract_id, round, COUNT(*) FROM submissions WHERE outcome='accepted' "
                               "AND status='current' GROUP BY contract_id, round HAVING COUNT(*) > 1").fetchall()
        assert not current, "two current returns for one contract and round"
        orphans = conn.execute("SELECT COUNT(*) FROM answers WHERE submission_id NOT IN "
                               "(SELECT id FROM submissions WHERE outcome='accepted')").fetchone()[0]
        assert orphans == 0
    finally:
        conn.close()
    assert len({s["file_sha256"] for s in subs}) == len(subs)
    for s in subs:
        path = ws.root / s["stored_path"]
        assert path.exists() and sha(path.read_bytes()) == s["file_sha256"]
        if s["outcome"] == "rejected":
            assert (ws.root / (s["stored_path"] + ".problems.txt")).exists()
    registered = {s["file_sha256"] for s in subs}
    for digest, places in found.items():
        if not places[0].startswith("inbox/duplicates/"):
            assert digest in registered, f"{places[0]} is filed but not registered"


def test_hostile_files_rejected_with_their_reason_and_run_goes_on(issued):
    ws, _ = issued
    valid = filled(ws, "C-0001")
    drop(ws, "C-0001.xlsx", valid)
    originals = {sha(valid): "C-0001.xlsx"}
    for name, build, _ in HOSTILE:
        data = build()
        drop(ws, f"hostile/{name}.xlsx", data)
        originals[sha(data)] = name
    result = ingest(ws)
    by_name = {f.name: f for f in result.files}
    assert by_name["C-0001.xlsx"].outcome == "accepted"
    for name, _, code in HOSTILE:
        f = by_name[f"{name}.xlsx"]
        assert f.outcome == "rejected", name
        assert code in [p.code for p in f.problems], (name, [p.code for p in f.problems])
        text = (ws.root / f.problems_file).read_text()
        assert f.problems[0].message in text
    assert result.workers_replaced == 0
    assert_consistent(ws, originals)


def test_real_native_crash_costs_only_that_file(tmp_path):
    """With preflight's bounds opened up, the far-away cell makes calamine abort the worker process."""
    far = tmp_path / "far.xlsx"
    far.write_bytes(hostile.far_cell())
    good = []
    for i in range(3):
        p = tmp_path / f"good{i}.xlsx"
        p.write_bytes(hostile.valid_xlsx(extra_rows=10 + i))
        good.append(p)
    limits = Limits(max_row=1_048_576, max_col=16_384)
    with ReaderPool(workers=1, memory_mb=512, timeout=60, limits=limits, batch=4) as pool:
        results = {os.path.basename(r.path): r for r in pool.read([good[0], far, good[1], good[2]])}
        replaced = pool.replaced
    assert results["far.xlsx"].crashed and "could not be read safely" in results["far.xlsx"].error
    assert replaced == 1
    for p in good:
        r = results[p.name]
        assert r.crashed is None and r.raw is not None and "Assessment" in r.raw.sheets


def test_worker_abort_during_ingest_rejects_only_that_file(issued, monkeypatch):
    ws, _ = issued
    files = {cid: filled(ws, cid) for cid in ("C-0001", "C-0002", "C-0003")}
    for cid, data in files.items():
        drop(ws, f"{cid}.xlsx", data)
    monkeypatch.setenv(ABORT_HOOK, "C-0002.xlsx")
    result = ingest(ws)
    outcome = {f.name: f for f in result.files}
    assert outcome["C-0001.xlsx"].outcome == outcome["C-0003.xlsx"].outcome == "accepted"
    bad = outcome["C-0002.xlsx"]
    assert bad.outcome == "rejected" and "could not be read safely" in bad.first_reason
    assert result.workers_replaced == 1
    assert_consistent(ws, {sha(d): c for c, d in files.items()})


@pytest.mark.slow
def test_hanging_file_times_out(issued, monkeypatch):
    ws, _ = issued
    cfg = ws.root / "cmrg.toml"
    cfg.write_text(cfg.read_text().replace("file_timeout_seconds = 30", "file_timeout_seconds = 1"))
    ws = open_workspace(ws.root)
    drop(ws, "C-0001.xlsx", filled(ws, "C-0001"))
    drop(ws, "C-0002.xlsx", filled(ws, "C-0002"))
    monkeypatch.setenv(HANG_HOOK, "C-0001.xlsx")
    result = ingest(ws)
    outcome = {f.name: f for f in result.files}
    assert outcome["C-0002.xlsx"].outcome == "accepted"
    assert outcome["C-0001.xlsx"].outcome == "rejected"
    assert "took longer than 1 seconds" in outcome["C-0001.xlsx"].first_reason


# --- killed part-way, and two at once ----------------------------------------------------

CLI = [sys.executable, "-c", "from cmrg_excel.cli import main; main()"]


def cli_ingest(ws, *extra, env=None, wait=True, new_session=False):
    full_env = {**os.environ, **(env or {})}
    full_env.pop(ABORT_HOOK, None)
    args = CLI + ["ingest", "--workspace", str(ws.root), *extra]
    if not wait:
        return subprocess.Popen(args, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=new_session)
    return subprocess.run(args, env=full_env, capture_output=True, text=True, timeout=300)


def mixed_inbox(ws, n_valid: int = 6) -> dict[str, str]:
    """Valid returns (several per contract, so later ones supersede), invalid ones and a duplicate."""
    originals = {}
    for i in range(n_valid):
        cid = ("C-0001", "C-0002", "C-0003")[i % 3]
        data = filled(ws, cid, att=attestation(name=f"Signer {i}"))
        p = drop(ws, f"batch/{i:02d}-{cid}.xlsx", data)
        os.utime(p, (1_700_000_000 + i, 1_700_000_000 + i))
        originals[sha(data)] = p.name
    bad = filled(ws, "C-0001", att=attestation(confirm="No"))
    drop(ws, "bad.xlsx", bad)
    originals[sha(bad)] = "bad.xlsx"
    drop(ws, "notes.txt", b"not a workbook")
    originals[sha(b"not a workbook")] = "notes.txt"
    return originals


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["copied:1", "copied:4", "committed:1", "committed:5", "removed:1", "removed:3"])
def test_sigkill_at_any_stage_then_rerun_is_consistent(issued, stage):
    ws, _ = issued
    originals = mixed_inbox(ws)
    killed = cli_ingest(ws, env={"CMRG_TEST_KILL_AT": stage})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    again = cli_ingest(ws)
    assert again.returncode == 0, again.stderr
    assert_consistent(ws, originals)
    conn = reg.open_register(ws)
    try:
        n = conn.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
    finally:
        conn.close()
    assert n == len(originals)  # each distinct file registered exactly once
    third = cli_ingest(ws)
    assert third.returncode == 0 and "No returns waiting" in third.stdout


@pytest.mark.slow
def test_external_sigkill_part_way_then_rerun(issued):
    """Killed from outside (the run and its workers at once, as when the machine stops) while some files
    are filed and others not read yet; the next run leaves every file in exactly one place."""
    ws, _ = issued
    originals = mixed_inbox(ws, n_valid=24)
    # A worker hangs on a file in the middle of the queue, so the run is surely still going when the
    # kill comes: without it a fast run could end first, and the test would prove nothing.
    stuck = ws.inbox / "batch" / "12-C-0001.xlsx"
    proc = cli_ingest(ws, env={HANG_HOOK: stuck.name}, wait=False, new_session=True)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if any(p.is_file() for p in ws.archive.rglob("*")):
            break
        time.sleep(0.005)
    assert proc.poll() is None, ("the run ended before it was killed", proc.communicate())
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait(60) == -signal.SIGKILL
    proc.stdout.close()
    proc.stderr.close()
    assert stuck.exists() and any(p.is_file() for p in ws.archive.rglob("*"))  # part-way: filed and waiting
    again = cli_ingest(ws)
    assert again.returncode == 0, again.stderr
    assert_consistent(ws, originals)


@pytest.mark.slow
def test_two_ingests_at_once(issued):
    ws, _ = issued
    originals = mixed_inbox(ws, n_valid=12)
    a = cli_ingest(ws, wait=False)
    b = cli_ingest(ws, wait=False)
    outs = [(p.wait(300), p.stdout.read(), p.stderr.read()) for p in (a, b)]
    for p in (a, b):
        p.stdout.close()
        p.stderr.close()
    assert [o[0] for o in outs] == [0, 0], outs  # the second waits for the first, then finds the inbox empty
    assert_consistent(ws, originals)


@pytest.mark.slow
def test_second_ingest_refuses_clearly_when_it_cannot_wait(issued):
    ws, _ = issued
    mixed_inbox(ws, n_valid=3)
    with ws.lock("another run"):
        r = cli_ingest(ws, "--wait", "0.2")
    assert r.returncode == 3
    assert "another cmrg run is using this workspace" in r.stderr
