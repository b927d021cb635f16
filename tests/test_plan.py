"""cmrg plan: scores, schedule, workbook and command line."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import openpyxl
import pytest
from click.testing import CliRunner

from cmrg_excel.cli import cli
from cmrg_excel.issue.plan import CRITERION_KEYS, PlanSettings, directorate_cap, make_plan, schedule, score_contracts
from cmrg_excel.issue.plan_workbook import write_plan_workbook
from cmrg_excel.core.settings import SettingsError
from tests.conftest import make_contract

TODAY = dt.date(2026, 11, 2)


def constructed_list():
    """Directorate A holds the four biggest contracts; B and C have smaller ones."""
    quiet = dict(recommission_date=None, end_date=dt.date(2032, 3, 31), audit_synergy=False,
                 last_review_date=dt.date(2026, 1, 1))
    return [
        make_contract("A-BIG1", directorate="A", annual_value_gbp=40e6, total_value_gbp=200e6, risk="High",
                      complexity="High", **quiet),
        make_contract("A-BIG2", directorate="A", annual_value_gbp=35e6, total_value_gbp=180e6, risk="High",
                      complexity="High", **quiet),
        make_contract("A-BIG3", directorate="A", annual_value_gbp=30e6, total_value_gbp=150e6, risk="High",
                      complexity="Medium", **quiet),
        # due for re-commissioning next month, high value and risk
        make_contract("A-NEXT", directorate="A", annual_value_gbp=20e6, total_value_gbp=100e6, risk="High",
                      complexity="Medium", recommission_date=dt.date(2026, 12, 15), end_date=dt.date(2027, 3, 31),
                      audit_synergy=False, last_review_date=dt.date(2026, 1, 1)),
        make_contract("B-1", directorate="B", annual_value_gbp=2e6, total_value_gbp=8e6, risk="Medium",
                      complexity="Low", **quiet),
        make_contract("B-2", directorate="B", annual_value_gbp=1e6, total_value_gbp=4e6, risk="Low",
                      complexity="Low", **quiet),
        make_contract("C-1", directorate="C", annual_value_gbp=500e3, total_value_gbp=2e6, risk="Low",
                      complexity="Low", **quiet),
        make_contract("C-OLD", directorate="C", annual_value_gbp=100e3, total_value_gbp=300e3, risk="Low",
                      complexity="Low", recommission_date=dt.date(2026, 6, 30), end_date=dt.date(2026, 10, 31),
                      audit_synergy=False, last_review_date=None),
    ]


def test_contributions_sum_to_total_and_weights_are_scaled_to_100():
    settings = PlanSettings()
    scores = score_contracts(constructed_list(), settings, TODAY)
    assert sum(settings.scaled_weights.values()) == pytest.approx(100)
    for s in scores:
        assert set(s.contributions) == set(CRITERION_KEYS)
        assert sum(s.contributions.values()) == pytest.approx(s.total, abs=1e-9)
        assert 0 <= s.total <= 100
        for key, points in s.contributions.items():
            assert points <= settings.scaled_weights[key] + 0.05
    # weights are relative: doubling them all changes nothing
    doubled = PlanSettings(weights={k: 2 * v for k, v in settings.weights.items()})
    assert [s.total for s in score_contracts(constructed_list(), doubled, TODAY)] == [s.total for s in scores]


def test_criteria_measure_what_they_say():
    scores = {s.contract_id: s for s in score_contracts(constructed_list(), PlanSettings(), TODAY)}
    big, small = scores["A-BIG1"], scores["C-OLD"]
    assert big.shares["value"] == pytest.approx(1.0) and small.shares["value"] == pytest.approx(0.0)
    # log scale: a contract a tenth the size of the largest is not near zero
    assert scores["B-1"].shares["value"] > 0.3
    assert big.shares["risk"] == 1 and scores["B-1"].shares["risk"] == 0.5 and small.shares["risk"] == 0
    # dates already passed do not count for timing; never reviewed earns full marks
    assert small.key_date is None and small.contributions["timing"] == 0
    assert small.shares["since_review"] == 1 and "never reviewed" in small.reason.lower()
    nxt = scores["A-NEXT"]
    assert nxt.key_date == dt.date(2026, 12, 15) and nxt.key_date_kind == "re-commissioning"
    assert nxt.shares["timing"] > 0.9
    assert "re-commissioning due 15/12/2026" in nxt.reason
    assert nxt.reason.startswith("High value (£20m a year), high risk")


def test_sooner_key_date_earns_more_timing_and_register_reviews_count():
    settings = PlanSettings()
    soon = make_contract("S", recommission_date=dt.date(2027, 1, 31))
    later = make_contract("L", recommission_date=dt.date(2027, 12, 31))
    beyond = make_contract("X", recommission_date=dt.date(2029, 1, 31), end_date=dt.date(2030, 1, 1))
    by = {s.contract_id: s for s in score_contracts([soon, later, beyond], settings, TODAY,
                                                    last_reviews={"S": dt.date(2026, 10, 1)})}
    assert by["S"].shares["timing"] > by["L"].shares["timing"] > 0 == by["X"].shares["timing"]
    assert by["S"].last_review == dt.date(2026, 10, 1) and by["S"].shares["since_review"] < 0.1
    assert by["L"].shares["since_review"] == 1


def test_schedule_puts_the_urgent_big_contract_first_and_spreads_directorates():
    settings = PlanSettings(per_month=2, months=4, max_directorate_share=0.5)
    scores = score_contracts(constructed_list(), settings, TODAY)
    plan = schedule(scores, settings, TODAY)
    assert plan[0].contract_id == "A-NEXT"
    assert plan[0].month == dt.date(2026, 11, 1)
    months = Counter(r.month for r in plan)
    assert all(n <= settings.per_month for n in months.values())
    assert len(plan) == 8 and len({r.contract_id for r in plan}) == 8
    for month in months:
        dirs = Counter(r.directorate for r in plan if r.month == month)
        # no directorate takes every slot while others are waiting
        assert max(dirs.values()) <= directorate_cap(settings) or len(dirs) == 1
    assert {r.directorate for r in plan if r.month == dt.date(2026, 11, 1)} == {"A", "B"}


def test_schedule_keeps_the_lead_time_before_re_commissioning():
    settings = PlanSettings(per_month=1, months=8, lead_months=2)
    contracts = [make_contract(f"TOP-{i}", directorate=f"D{i}", annual_value_gbp=50e6, total_value_gbp=250e6,
                               recommission_date=None, end_date=dt.date(2035, 1, 1), audit_synergy=True)
                 for i in range(4)]
    contracts.append(make_contract("DUE", directorate="Z", annual_value_gbp=100e3, total_value_gbp=500e3,
                                   risk="Low", complexity="Low", audit_synergy=False,
                                   recommission_date=dt.date(2027, 5, 31)))
    plan = schedule(score_contracts(contracts, settings, TODAY), settings, TODAY)
    due = next(r for r in plan if r.contract_id == "DUE")
    # lowest score, but reviewed by March, two months before its May re-commissioning
    assert due.month <= dt.date(2027, 3, 1)
    assert due.review_by == dt.date(2027, 3, 1)
    assert plan[0].contract_id.startswith("TOP")


def test_only_one_directorate_left_may_fill_a_month():
    settings = PlanSettings(per_month=3, months=2, max_directorate_share=0.5)
    contracts = [make_contract(f"A-{i}", directorate="A") for i in range(5)]
    plan = schedule(score_contracts(contracts, settings, TODAY), settings, TODAY)
    assert len(plan) == 5


def test_more_contracts_than_slots_leaves_the_lowest_unscheduled():
    settings = PlanSettings(per_month=2, months=2)
    plan = make_plan(constructed_list(), settings, TODAY)
    assert len(plan.reviews) == 4
    assert len(plan.unscheduled) == 4
    assert "C-OLD" in {s.contract_id for s in plan.unscheduled}


@pytest.mark.parametrize("section, message", [
    ({"weight_risk": "high"}, "weight_risk"),
    ({"weight_value": -1}, "weight_value"),
    ({k: 0 for k in ("weight_value", "weight_risk", "weight_complexity", "weight_audit_synergy",
                      "weight_timing", "weight_since_review")}, "all zero"),
    ({"per_month": 2.5}, "per_month"),
    ({"max_directorate_share": 2}, "max_directorate_share"),
    ({"weight_value": float("inf")}, r"weight_value must be a number from 0 to 1000 .* \(found inf\)"),
    ({"weight_value": float("nan")}, r"\(found nan\)"),
])
def test_bad_settings_name_the_setting(section, message):
    with pytest.raises(SettingsError, match=message):
        PlanSettings.from_section(section)


def test_settings_from_config_with_overrides():
    s = PlanSettings.from_section({"weight_value": 60, "per_month": 5}, months=3, per_month=None)
    assert s.weights["value"] == 60 and s.per_month == 5 and s.months == 3
    assert s.scaled_weights["value"] == pytest.approx(100 * 60 / 130)


def test_plan_workbook(tmp_path):
    settings = PlanSettings(per_month=2, months=3)
    contracts = constructed_list() + [make_contract("=EVIL", title="=HYPERLINK(\"http://x\")", directorate="C")]
    plan = make_plan(contracts, settings, TODAY)
    path = write_plan_workbook(plan, tmp_path / "review-plan.xlsx", "Test Council")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Schedule", "Scores", "Method"]
    sched = wb["Schedule"]
    header = [c.value for c in sched[4]]
    assert header == ["Month", "Contract ID", "Contract", "Directorate", "Score", "Why"]
    first = [c.value for c in sched[5]]
    assert first[1] == "A-NEXT" and first[0] == dt.datetime(2026, 11, 1)
    assert "re-commissioning due 15/12/2026" in first[5]
    assert sched.cell(5, 1).number_format == "mmmm yyyy"
    scores = wb["Scores"]
    assert list(scores.tables) == ["Scores"]
    table_ref = scores.tables["Scores"].ref
    assert table_ref.startswith("A4:")
    heads = [c.value for c in scores[4]]
    crit = [i for i, h in enumerate(heads) if h.endswith(")") and "(of " in h and not h.startswith("Total")]
    total_col = heads.index("Total (of 100)")
    assert len(crit) == 6
    for row in scores.iter_rows(min_row=5, max_row=4 + len(contracts), values_only=True):
        assert sum(row[i] for i in crit) == pytest.approx(row[total_col], abs=1e-6)
    ids = [scores.cell(r, 2).value for r in range(5, 5 + len(contracts))]
    assert "=EVIL" in ids  # people's text is stored as text, not as a formula
    evil_row = 5 + ids.index("=EVIL")
    assert scores.cell(evil_row, 3).data_type == "s"
    assert scores.cell(5, 4).number_format.startswith("£")
    # risk and complexity centred, so a long amount does not run into them
    assert scores.cell(5, 5).alignment.horizontal == "center"
    # printed up to the planned month; the directorate, dates and reasons follow for the screen
    assert scores.print_area.startswith("'Scores'!$A$1:$N$")
    # a criterion's heading breaks before its weight, not inside it
    assert all("\n(of " in heads[i] for i in crit)
    # the first review of each month has a rule above it
    months = [sched.cell(r, 1).value for r in range(5, 5 + len(plan.reviews))]
    for r, (before, month) in enumerate(zip([None] + months, months), start=5):
        assert (sched.cell(r, 2).border.top.style == "medium") == (month != before), r
    method = wb["Method"]
    assert method["A5"].value.startswith("Value")
    # a criterion whose explanation wraps has a row tall enough for it (not the default, overlapping the next)
    assert method.row_dimensions[5].height >= 30
    # the scheduling notes are bullet points across the sheet, the bullet beside its text
    notes = [c for c in method["A"] if isinstance(c.value, str) and c.value.startswith("\u2022 ")]
    assert len(notes) >= 5 and all(any(c.coordinate in m and m.max_col == 4 for m in method.merged_cells.ranges)
                                   for c in notes)
    assert scores.page_setup.orientation == "landscape" and scores.print_title_rows


# --- command line ----------------------------------------------------------------------
def test_cli_plan_writes_the_workbook(workspace):
    result = CliRunner().invoke(cli, ["plan", "-w", str(workspace.root), "--from", "01/12/2026", "--months", "4",
                                      "--per-month", "3"])
    assert result.exit_code == 0, result.output
    assert "GET-001" in result.output.splitlines()[3]  # first row of the table
    assert "Dec 2026" in result.output and "Mar 2027" not in result.output
    assert "Written: outbox" in result.output
    assert (workspace.outbox / "review-plan.xlsx").exists()
    wb = openpyxl.load_workbook(workspace.outbox / "review-plan.xlsx", read_only=True)
    rows = list(wb["Schedule"].iter_rows(min_row=5, values_only=True))
    assert len([r for r in rows if r[1]]) == 12


def test_cli_plan_bad_date_is_a_usage_error(workspace):
    result = CliRunner().invoke(cli, ["plan", "-w", str(workspace.root), "--from", "31/02/2027"])
    assert result.exit_code == 2
    assert "'31/02/2027' is not a date" in result.output
    assert "Traceback" not in result.output


def test_cli_plan_bad_weight_names_the_setting(workspace):
    cfg = workspace.root / "cmrg.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("weight_risk = 20", 'weight_risk = "lots"'),
                   encoding="utf-8")
    result = CliRunner().invoke(cli, ["plan", "-w", str(workspace.root)])
    assert result.exit_code == 1
    assert "[plan] weight_risk" in result.output


def test_cli_plan_help():
    result = CliRunner().invoke(cli, ["plan", "--help"])
    assert result.exit_code == 0
    for text in ("--from DATE", "--months N", "--per-month K", "review-plan.xlsx"):
        assert text in result.output


def test_a_decision_due_before_the_plan_starts_is_reviewed_as_soon_as_possible():
    # Made on 03/12/2026 for a plan from January 2027: a re-commissioning decision due on
    # 31/12/2026 is already short of its lead time, so the Method sheet's promise holds:
    # as soon as possible, here January, when January has room (issue 17.16).
    due = [make_contract(f"D-{i}", recommission_date=dt.date(2026, 12, 31), risk="Low", complexity="Low",
                         annual_value_gbp=10_000.0, total_value_gbp=50_000.0, audit_synergy=False,
                         directorate=f"Directorate {i}") for i in range(2)]
    others = [make_contract(f"C-{i}", recommission_date=None, end_date=dt.date(2031, 3, 31), risk="High",
                            directorate=f"Directorate {i}") for i in range(8)]
    settings = PlanSettings(per_month=3, months=6)
    plan = make_plan(due + others, settings, dt.date(2027, 1, 1), today=dt.date(2026, 12, 3))
    months = {r.contract_id: r.month for r in plan.reviews}
    assert months["D-0"] == months["D-1"] == dt.date(2027, 1, 1), months
    reason = next(r.reason for r in plan.reviews if r.contract_id == "D-0")
    assert "re-commissioning due 31/12/2026" in reason.lower() and "as soon as possible" in reason
    # made after the decision date, the decision is past and no longer makes the review urgent
    late = make_plan(due + others, settings, dt.date(2027, 1, 1), today=dt.date(2027, 1, 1))
    assert {r.contract_id: r.month for r in late.reviews}.get("D-0") != dt.date(2027, 1, 1)
