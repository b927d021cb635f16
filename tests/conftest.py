"""Shared fixtures: workspaces built by code, fresh for every test."""

from __future__ import annotations

import datetime as dt

import pytest

from cmrg_excel.core.contracts import Contract, read_contracts
from cmrg_excel.core.framework import builtin_paths
from cmrg_excel.issue.generate import generate_round
from cmrg_excel.kit.contract_list import write_contract_list
from cmrg_excel.programme.init import init_workspace
from cmrg_excel.core.workspace import open_workspace

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
