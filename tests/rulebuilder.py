"""Returns as plain data, so that each rule of :func:`cmrg_excel.intake.check.check` is one quick assertion.

``check()`` takes what the reader hands over (a :class:`cmrg_excel.intake.read.RawReturn`: the cells the
layout names, uninterpreted) and the issue ledger (a :class:`cmrg_excel.intake.check.Ledger`). Both are
plain data, so a rule test needs no workspace, no workbook and no worker process::

    raw = ret(rows=table('''
        | ref | rating       | action | action_owner |
        | 1.1 | 1 Developing | Plan   |              |
    '''))
    assert codes(run(raw)) == ["missing-owner", "missing-target-date"]

Everything not named is a complete, valid return of one issued workbook (:data:`ISSUE`, for
contract C-0001 in round R1 on the built-in framework), signed on :data:`SIGNED` and received on
:data:`RECEIVED`, so each test changes only the cells its rule is about.

The builder is held to the reader: ``tests/test_rules_check.py::test_builder_speaks_the_readers_language``
writes the same answers into a real issued workbook, reads it back, and compares.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import replace

from cmrg_excel import __version__
from cmrg_excel.kit import layout as L
from cmrg_excel import register as reg
from cmrg_excel.intake.check import CheckResult, Ledger, check
from cmrg_excel.core.framework import find
from cmrg_excel.intake.read import RawReturn, RawRow

from .conftest import make_contract
from .returns import complete_answers

FW = find("nao-cm-areas-1-8")  # the framework a new workspace uses
ISSUED_AT = "2026-11-02T09:00:00+00:00"
SIGNED = dt.date(2026, 11, 10)
RECEIVED = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
ANSWER_KEYS = ("rating", "evidence", "action", "action_owner", "target_date", "confirm")

_tokens = itertools.count(1)


def issue(contract_id: str = "C-0001", round: str = "R1", fw=FW, **over) -> reg.Issue:
    """One issued workbook as the ledger holds it (register.Issue); override any field."""
    contract = make_contract(contract_id, **over.pop("contract", {}))
    base = dict(
        token=f"tok-{contract_id}-{round}-{next(_tokens)}", contract_id=contract_id, round=round,
        framework_id=fw.id, framework_version=fw.version, framework_hash=fw.content_hash,
        layout_version=L.LAYOUT_VERSION, kind="initial", file_path=f"outbox/{round}/{contract_id}.xlsx",
        file_sha256="0" * 64, generated_at=ISSUED_AT, deadline="2026-11-30",
        contract_snapshot=reg.contract_details(contract),
    )
    base.update(over)
    return reg.Issue(**base)


ISSUE = issue()


def ledger(*issues, frameworks=None, current=None) -> Ledger:
    """The ledger of these issues (ISSUE when none are given), knowing the built-in framework."""
    issues = issues or (ISSUE,)
    fws = {FW.content_hash: FW} if frameworks is None else dict(frameworks)
    return Ledger(list(issues), fws, current)


def attestation(**over) -> dict:
    base = {"name": "Jane Example", "role": "Contract manager", "date": SIGNED, "confirm": "Yes"}
    base.update(over)
    return base


def table(text: str) -> dict[str, dict]:
    """Answers written as a table, one row per activity (pyxform's way of writing a form in a test).

    The first line names the columns (``ref`` and any of rating, evidence, action, action_owner,
    target_date, confirm); a blank cell is an empty cell. Values are text, as typed; pass a dict
    for dates as date cells, numbers and the like."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    split = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
    head, body = split[0], split[1:]
    assert head[0] == "ref" and set(head[1:]) <= set(ANSWER_KEYS), head
    out = {}
    for cells in body:
        assert len(cells) == len(head), cells
        out[cells[0]] = {k: v for k, v in zip(head[1:], cells[1:]) if v != ""}
    return out


def _contract_values(snapshot: dict) -> dict:
    """The Contract sheet's column B as the reader gives it: text, numbers and date cells."""
    out = {}
    for f in L.CONTRACT_FIELDS:
        value = snapshot.get(f.key)
        if value is None:
            value = ""
        elif f.kind == "date" and isinstance(value, str):
            value = dt.date.fromisoformat(value)
        out[f.key] = value
    return out


def ret(issue: reg.Issue = ISSUE, fw=FW, *, answers: dict | None = None, rows: dict | None = None,
        att: dict | None = None, corrections: dict | None = None, cells: dict | None = None,
        drop: tuple[str, ...] = (), outside: dict | None = None, formulas: dict | None = None,
        sheets: tuple[str, ...] = ()) -> RawReturn:
    """A return of ``issue`` as the reader hands it to check().

    answers: every activity's answer (default: a complete valid return, tests.returns.complete_answers);
    rows: answers replacing some activities' answers (``{"1.1": {...}}``; ``{}`` leaves the row blank);
    att: attestation fields over the default (signed on SIGNED, confirmed);
    corrections: the Contract sheet's Correction column (field key -> value);
    cells: any cell by (sheet, A1 address) -> value, as tests.returns.filled takes them;
    drop: sheets deleted from the workbook (the metadata sheet too: then raw.meta is None);
    outside: (sheet, A1 address) -> value written outside the cells the layout reads;
    formulas: (sheet, A1 address) -> formula text, where the template has none (as the reader keeps them);
    sheets: sheets added to the workbook (at the end)."""
    answers = dict(complete_answers(fw) if answers is None else answers)
    answers.update(rows or {})
    meta = {
        "issue_token": issue.token, "contract_id": issue.contract_id, "round": issue.round,
        "framework_id": issue.framework_id, "framework_version": issue.framework_version,
        "framework_hash": issue.framework_hash, "layout_version": issue.layout_version, "kind": issue.kind,
        "generated_at": issue.generated_at, "tool_version": __version__,
    }
    raw = RawReturn(
        sheets={name: ("veryhidden" if name == L.META else "visible") for name in (*L.SHEETS, *sheets)},
        meta=meta, meta_labels={k: k for k in L.META_KEYS},
        contract=_contract_values(issue.contract_snapshot),
        corrections={k: v for k, v in (corrections or {}).items() if v not in ("", None)},
        attestation=attestation(**(att or {})),
    )
    texts = {a.ref: a.text for a in fw.activities}
    for r in L.assessment_rows(fw):
        if r.kind == "area":
            raw.rows.append(RawRow(r.row, str(r.area), dict.fromkeys(ANSWER_KEYS, ""), fw.area(r.area).name))
        elif r.kind == "activity":
            given = answers.get(r.ref, {})
            raw.rows.append(RawRow(r.row, r.ref, {k: given.get(k, "") for k in ANSWER_KEYS}, texts[r.ref]))
    raw.outside = [(sheet, cell, value) for (sheet, cell), value in (outside or {}).items()]
    for (sheet, cell), text in (formulas or {}).items():
        raw.formulas.setdefault(sheet, {})[cell] = text
    for (sheet, cell), value in (cells or {}).items():
        _set(raw, sheet, cell, value)
    for sheet in drop:
        del raw.sheets[sheet]
        if sheet == L.META:
            raw.meta, raw.meta_labels = None, {}
        elif sheet == L.CONTRACT:
            raw.contract, raw.corrections = {}, {}
        elif sheet == L.ASSESSMENT:
            raw.rows = []
        elif sheet == L.ATTESTATION:
            raw.attestation = {}
    return raw


def _set(raw: RawReturn, sheet: str, cell: str, value) -> None:
    """One cell written, as the reader would find it (only the cells the layout names exist)."""
    col = "".join(ch for ch in cell if ch.isalpha())
    row = int(cell[len(col):])
    if sheet == L.META:
        key = L.META_KEYS[row - L.META_FIRST_ROW]
        (raw.meta if col == "B" else raw.meta_labels)[key] = value
    elif sheet == L.CONTRACT:
        key = L.CONTRACT_FIELDS[row - L.CONTRACT_FIRST_ROW].key
        if col == L.CONTRACT_CORRECTION_COL:
            raw.corrections[key] = value
        else:
            raw.contract[key] = value
    elif sheet == L.ATTESTATION:
        raw.attestation[next(f.key for f in L.ATTEST_FIELDS if f.cell == cell)] = value
    elif sheet == L.ASSESSMENT:
        at = next((r for r in raw.rows if r.row == row), None)
        if at is None:
            at = RawRow(row, "", dict.fromkeys(ANSWER_KEYS, ""))
            raw.rows.append(at)
            raw.rows.sort(key=lambda r: r.row)
        if col == L.ASSESS_BY_KEY["ref"].letter:
            at.ref = value
        elif col == L.ASSESS_BY_KEY["activity"].letter:
            at.activity = value
        else:
            at.values[next(c.key for c in L.ASSESS_COLUMNS if c.letter == col)] = value
    else:
        raise KeyError(sheet)


def run(raw: RawReturn, led: Ledger | None = None, *, file_name: str = "C-0001.xlsx",
        received: dt.datetime = RECEIVED) -> CheckResult:
    """check() over a return, with the ledger holding ISSUE unless another is given."""
    return check(raw, led or ledger(), file_name=file_name, received=received)


def codes(result: CheckResult) -> list[str]:
    return [p.code for p in result.problems]


def only(result: CheckResult, code: str):
    """The single problem of a result, which must have this code."""
    assert codes(result) == [code], [str(p) for p in result.problems]
    return result.problems[0]


def cell(ref: str, key: str, fw=FW) -> str:
    """The Assessment cell of one answer, e.g. cell("1.1", "rating") -> "D6"."""
    return L.activity_cell(fw, ref, key)


def answer(result: CheckResult, ref: str):
    return next(a for a in result.answers if a.ref == ref)


def with_status(i: reg.Issue, **over) -> reg.Issue:
    return replace(i, **over)
