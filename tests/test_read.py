"""cmrg_excel.intake.read: the cells the layout names, raw, from python-calamine; and the worker pool."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl

from cmrg_excel.kit import layout as L
from cmrg_excel.intake.read import ReaderPool, limits_for, read_bytes, read_many

from . import hostile
from .returns import attestation, complete_answers, filled, framework_of, issue_of

LIMITS = limits_for(10 * 1024 * 1024)


def test_reads_every_named_cell_raw(issued):
    ws, _ = issued
    issue = issue_of(ws, "C-0002")
    fw = framework_of(ws, issue)
    answers = complete_answers(fw)
    answers["1.1"] = {"rating": "1 Developing", "evidence": "e", "action": "a", "action_owner": "o",
                      "target_date": "31/03/2027"}
    answers["1.2"] = {"rating": "2 Good", "target_date": 46477}
    data = filled(ws, "C-0002", answers=answers, att=attestation(date=dt.date(2026, 12, 1)),
                  corrections={"owner_email": "new@council.gov.uk"})
    res = read_bytes(data, LIMITS, "x.xlsx")
    raw = res.raw
    assert res.sha256 and res.size == len(data) and not res.fatal
    assert list(raw.sheets) == list(L.SHEETS) and raw.sheets[L.META] == "veryhidden"
    assert raw.meta["issue_token"] == issue.token and raw.meta["round"] == "R1"
    assert raw.meta_labels["issue_token"] == "issue_token"
    assert raw.contract["contract_id"] == "C-0002" and raw.contract["title"] == "Home care"
    assert raw.corrections == {"owner_email": "new@council.gov.uk"}
    rows = {r.ref: r for r in raw.rows if r.ref in answers}
    assert rows["1.1"].row == L.activity_rows(fw)["1.1"]
    assert rows["1.1"].values["target_date"] == "31/03/2027"  # text stays text
    # a number typed into the date-formatted cell comes back as the date it stands for
    assert rows["1.2"].values["target_date"] in (dt.date(2027, 3, 31), dt.datetime(2027, 3, 31), 46477)
    assert rows["1.1"].values["rating"] == "1 Developing"
    assert isinstance(raw.attestation["date"], (dt.date, dt.datetime))
    assert raw.attestation["confirm"] == "Yes"


def test_sheet_visibility_reported(issued):
    ws, _ = issued
    wb = openpyxl.load_workbook(io.BytesIO(filled(ws)))
    wb[L.META].sheet_state = "hidden"
    out = io.BytesIO()
    wb.save(out)
    assert read_bytes(out.getvalue(), LIMITS).raw.sheets[L.META] == "hidden"


def test_preflight_runs_first_and_blocks_the_parser():
    res = read_bytes(hostile.encrypted(), LIMITS)
    assert res.raw is None and [f.code for f in res.fatal] == ["encrypted"]
    res = read_bytes(hostile.far_cell(), LIMITS)
    assert res.raw is None and "cell-out-of-bounds" in [f.code for f in res.fatal]


def test_pool_returns_one_result_per_path_in_any_order(tmp_path):
    paths = []
    for i in range(7):
        p = tmp_path / f"f{i}.xlsx"
        p.write_bytes(hostile.valid_xlsx(extra_rows=5 + i))
        paths.append(p)
    (tmp_path / "gone.xlsx").write_bytes(b"")
    paths.append(tmp_path / "gone.xlsx")
    results = read_many(paths, workers=2, memory_mb=512, timeout=30, limits=LIMITS)
    assert sorted(r.path for r in results) == sorted(str(p) for p in paths)
    by = {r.path: r for r in results}
    assert [f.code for f in by[str(tmp_path / "gone.xlsx")].fatal] == ["empty"]
    assert all(by[str(p)].raw is not None for p in paths[:7])
    assert all(r.stat is not None for r in results)


def test_pool_with_no_files(tmp_path):
    with ReaderPool(workers=2, limits=LIMITS) as pool:
        assert list(pool.read([])) == []
