"""Helpers for tests that fill issued workbooks and check or ingest them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cmrg_excel import register as reg
from cmrg_excel.programme.simulate import fill_return

SIGNED = dt.date.today()


def issue_of(ws, contract_id: str, round: str = "R1"):
    conn = reg.open_register(ws)
    try:
        return next(i for i in reg.list_issues(conn, round, open_only=True) if i.contract_id == contract_id)
    finally:
        conn.close()


def framework_of(ws, issue):
    conn = reg.open_register(ws)
    try:
        return reg.load_framework(conn, issue.framework_hash)
    finally:
        conn.close()


def ledger(ws):
    from cmrg_excel.intake.check import Ledger

    conn = reg.open_register(ws)
    try:
        issues = reg.list_issues(conn)
        fws = {h: reg.load_framework(conn, h) for h in {i.framework_hash for i in issues}}
    finally:
        conn.close()
    return Ledger(issues, fws)


def complete_answers(fw, seed: int = 0) -> dict[str, dict]:
    """Every activity answered validly, with a spread of ratings, evidence, N/A and actions."""
    labels = [lv.label for lv in fw.scale.levels]
    out = {}
    for i, act in enumerate(fw.activities):
        k = (i + seed) % 7
        if k == 6:
            out[act.ref] = {"rating": fw.scale.not_applicable, "evidence": f"No assets on this contract ({act.ref})"}
        elif k == 5:
            out[act.ref] = {"rating": labels[1], "evidence": f"Partly documented ({act.ref})",
                            "action": f"Write it down properly ({act.ref})", "action_owner": "Sam Owner",
                            "target_date": dt.date(2027, 3, 31)}
        else:
            out[act.ref] = {"rating": labels[k % len(labels)], "evidence": f"Evidence for {act.ref}: plan v2"}
    return out


def attestation(**over) -> dict:
    base = {"name": "Jane Example", "role": "Contract manager", "date": SIGNED, "confirm": "Yes"}
    base.update(over)
    return base


def filled(ws, contract_id: str = "C-0001", round: str = "R1", answers=None, att=None, corrections=None,
           cells=None, issue=None) -> bytes:
    issue = issue or issue_of(ws, contract_id, round)
    fw = framework_of(ws, issue)
    answers = complete_answers(fw) if answers is None else answers
    return fill_return(ws.root / issue.file_path, answers, attestation() if att is None else att, corrections, cells)


def drop(ws, name: str, data: bytes) -> Path:
    p = ws.inbox / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p
