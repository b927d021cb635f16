"""Assertions on what ingest put in the register, shared by the round-trip tests."""

from __future__ import annotations

import sqlite3

from cmrg_excel.kit import layout as L
from cmrg_excel import register as reg


def submission(ws, contract_id: str) -> dict:
    conn = reg.open_register(ws)
    try:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM submissions WHERE contract_id=? ORDER BY id DESC", (contract_id,)).fetchone()
        return dict(row)
    finally:
        conn.close()


def assert_register_holds(ws, contract_id: str, fw, answers: dict[str, dict], round: str = "R1") -> None:
    """The register's answers for the contract are exactly ``answers``, cell for cell."""
    df = reg.answers(ws, round=round)
    sub = df[df.contract_id == contract_id]
    assert sorted(sub.ref) == sorted(answers)
    rows = L.activity_rows(fw)
    for rec in sub.to_dict("records"):
        given = answers[rec["ref"]]
        assert rec["rating"] == given["rating"], rec["ref"]
        assert rec["evidence"] == given.get("evidence", ""), rec["ref"]
        assert rec["action"] == given.get("action", ""), rec["ref"]
        assert rec["action_owner"] == given.get("action_owner", ""), rec["ref"]
        if given.get("target_date"):
            assert rec["target_date"].date() == given["target_date"], rec["ref"]
        else:
            assert rec["target_date"] is None or rec["target_date"] != rec["target_date"], rec["ref"]  # NaT
        assert rec["rating_cell"] == f"D{rows[rec['ref']]}" and rec["sheet"] == L.ASSESSMENT
        if given["rating"] == fw.scale.not_applicable:
            assert rec["not_applicable"] and rec["score"] != rec["score"]  # NaN
        else:
            assert rec["score"] == fw.scale.score_of(given["rating"])
