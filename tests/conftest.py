"""Shared fixtures: workspaces built by code, fresh for every test."""

from __future__ import annotations

import datetime as dt
import faulthandler
import os

import pytest
from hypothesis import settings

# Hypothesis: in CI (CI=true) every run draws the same examples, so a green run is reproducible and
# a rule is never pinned by a lucky draw; on a developer's machine examples are new each run (and
# failures are kept in .hypothesis/ to replay). HYPOTHESIS_PROFILE names a profile explicitly; the
# mutation runs use "mutation" (docs/testing.md).
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.register_profile("mutation", derandomize=True, database=None, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE")
                      or ("ci" if os.environ.get("CI", "").lower() in ("true", "1", "yes") else "dev"))

from cmrg_excel.core.contracts import Contract, read_contracts
from cmrg_excel.core.framework import builtin_paths
from cmrg_excel.issue.generate import generate_round
from cmrg_excel.kit.contract_list import write_contract_list
from cmrg_excel.programme.init import init_workspace
from cmrg_excel.core.workspace import open_workspace



def _child_dumps_into_the_tests_output() -> None:
    """A forked child (a reader worker, a stamping worker) inherits pytest's fault handler, which writes
    to the terminal: the tests that crash a worker on purpose then print "Fatal Python error" dumps into
    a green run. In the child, point the handler at file descriptor 2 instead, which pytest captures for
    the test running: the dump is shown with that test's output if it fails, and nowhere otherwise."""
    if faulthandler.is_enabled():
        faulthandler.enable(file=2, all_threads=True)


os.register_at_fork(after_in_child=_child_dumps_into_the_tests_output)

SAMPLE_CSV = next(p for p in builtin_paths()).parent / "sample-contracts.csv"
QUICK_SETTLE = 0.05  # seconds: files the tests write are complete when written


@pytest.fixture(autouse=True)
def quick_settle(monkeypatch):
    """Ingest waits [ingest] settle_seconds (2 s by default) to see that a freshly written file is
    no longer being saved; the tests write complete files, so a short wait keeps them fast.
    Workspaces made by the fixtures below also say so in cmrg.toml (for runs in a subprocess)."""
    from cmrg_excel.intake import ingest

    monkeypatch.setattr(ingest, "SETTLE_SECONDS", QUICK_SETTLE)


def quick(ws):
    cfg = ws.root / "cmrg.toml"
    text = cfg.read_text()
    assert "\nsettle_seconds = 2\n" in text, "cmrg.toml no longer sets settle_seconds = 2"
    cfg.write_text(text.replace("\nsettle_seconds = 2\n", f"\nsettle_seconds = {QUICK_SETTLE}\n"))
    return open_workspace(ws.root)


def make_contract(contract_id: str = "C-0001", **overrides) -> Contract:
    """A valid contract with sensible values; override any field."""
    base = dict(
        contract_id=contract_id, title="Highways maintenance", supplier="Example Roads Ltd",
        directorate="Growth, Environment and Transport", owner_name="Jane Example",
        owner_email="jane.example@council.gov.uk", annual_value_gbp=1_200_000.0, total_value_gbp=6_000_000.0,
        start_date=dt.date(2023, 4, 1), end_date=dt.date(2028, 3, 31), risk="High", complexity="Medium",
        recommission_date=dt.date(2027, 6, 30), audit_synergy=True, last_review_date=None,
    )
    base.update(overrides)
    return Contract(**base)


@pytest.fixture
def workspace(tmp_path):
    """An initialised workspace holding the built-in 28 sample contracts (no round yet)."""
    ws, _ = init_workspace(tmp_path / "ws", council="Test Council", return_email="cmrg@test.gov.uk",
                           password="test-pw")
    write_contract_list(ws.contracts_path, read_contracts(SAMPLE_CSV).contracts)
    return quick(ws)


@pytest.fixture
def small_workspace(tmp_path):
    """A workspace with three contracts in three directorates (fast to generate)."""
    ws, _ = init_workspace(tmp_path / "ws", council="Test Council", return_email="cmrg@test.gov.uk",
                           password="test-pw")
    contracts = [
        make_contract("C-0001"),
        make_contract("C-0002", title="Home care", directorate="Adult Social Care", supplier="Care Co"),
        make_contract("C-0003", title="School meals", directorate="Children's Services", supplier="Meals Ltd",
                      risk="Low", complexity="Low"),
    ]
    write_contract_list(ws.contracts_path, contracts)
    return quick(ws)


@pytest.fixture
def issued(small_workspace):
    """small_workspace with round R1 generated: (workspace, GenerateResult)."""
    result = generate_round(small_workspace, "R1", today=dt.date(2026, 11, 2))
    return small_workspace, result
