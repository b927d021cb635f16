"""Deadlines land on working days: weekends and the nation's bank holidays are skipped."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy

import holidays
import openpyxl
import pytest
from click.testing import CliRunner

from cmrg_excel import register as reg
from cmrg_excel.cli import cli
from cmrg_excel.issue.generate import generate_round
from cmrg_excel.programme.init import init_workspace
from cmrg_excel.core.workspace import load_config, open_workspace

D = dt.date


@pytest.fixture
def cfg(tmp_path):
    """The settings of a new workspace: deadline_days = 28, holidays = "England"."""
    ws, _ = init_workspace(tmp_path / "ws")
    return ws.config


def nation(cfg, name):
    return dataclasses.replace(cfg, holidays=name)


def test_new_workspaces_use_english_bank_holidays_and_28_days(cfg):
    assert cfg.holidays == "England" and cfg.deadline_days == 28 and cfg.deadline is None


def test_christmas_day_moves_past_the_boxing_day_substitute_in_england(cfg):
    # The README's cycle: 28 days from Friday 27/11/2026 is Friday 25/12/2026. Boxing Day is
    # a Saturday, so Monday 28/12 is its substitute: the first working day is Tuesday 29/12.
    england = holidays.country_holidays("GB", subdiv="ENG")
    assert D(2026, 12, 25) in england and D(2026, 12, 28) in england and D(2026, 12, 29) not in england
    assert D(2026, 11, 27) + dt.timedelta(days=28) == D(2026, 12, 25)
    assert cfg.deadline_from(D(2026, 11, 27)) == D(2026, 12, 29)
    assert cfg.not_a_working_day(D(2026, 12, 25)) == "Christmas Day, a bank holiday in England"
    assert "Boxing Day" in cfg.not_a_working_day(D(2026, 12, 28))
    assert cfg.not_a_working_day(D(2026, 12, 29)) is None


def test_a_weekend_moves_to_monday(cfg):
    assert cfg.deadline_from(D(2026, 10, 31)) == D(2026, 11, 30)  # Saturday 28/11 -> Monday 30/11
    assert cfg.deadline_from(D(2026, 11, 1)) == D(2026, 11, 30)   # Sunday 29/11 -> Monday 30/11
    assert cfg.not_a_working_day(D(2026, 11, 28)) == "a Saturday"
    assert cfg.not_a_working_day(D(2026, 11, 29)) == "a Sunday"
    assert cfg.deadline_from(D(2026, 11, 2)) == D(2026, 11, 30)   # a working day stays put


def test_scotland_has_its_own_bank_holidays(cfg):
    scotland = nation(cfg, "Scotland")
    # St Andrew's Day, Monday 30/11/2026: a bank holiday in Scotland only.
    assert cfg.deadline_from(D(2026, 11, 2)) == D(2026, 11, 30)
    assert scotland.deadline_from(D(2026, 11, 2)) == D(2026, 12, 1)
    assert "Andrew" in scotland.not_a_working_day(D(2026, 11, 30))
    # 2 January 2027 is a Saturday; Scotland takes Monday 04/01 instead, England works.
    assert cfg.deadline_from(D(2026, 12, 7)) == D(2027, 1, 4)
    assert scotland.deadline_from(D(2026, 12, 7)) == D(2027, 1, 5)


def test_northern_ireland_and_wales(cfg):
    # St Patrick's Day, Wednesday 17/03/2027: Northern Ireland only.
    assert nation(cfg, "Northern Ireland").deadline_from(D(2027, 2, 17)) == D(2027, 3, 18)
    assert nation(cfg, "Wales").deadline_from(D(2027, 2, 17)) == D(2027, 3, 17)
    assert nation(cfg, "Wales").deadline_from(D(2026, 11, 27)) == D(2026, 12, 29)


def test_none_skips_weekends_only(cfg):
    none = nation(cfg, "none")
    assert none.deadline_from(D(2026, 11, 27)) == D(2026, 12, 25)  # Christmas Day is a Friday
    assert none.deadline_from(D(2026, 10, 31)) == D(2026, 11, 30)  # Saturday still moves
    assert none.not_a_working_day(D(2026, 12, 25)) is None
    assert none.not_a_working_day(D(2026, 12, 26)) == "a Saturday"


def test_a_set_deadline_is_kept_even_on_a_bank_holiday(cfg):
    fixed = dataclasses.replace(cfg, deadline=D(2026, 12, 25))
    assert fixed.deadline_from(D(2026, 11, 2)) == D(2026, 12, 25)


def _settings(path, **lines):
    text = path.read_text(encoding="utf-8")
    for old, new in lines.items():
        assert old in text
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def test_the_setting_is_read_from_cmrg_toml(tmp_path):
    ws, _ = init_workspace(tmp_path / "ws")
    path = ws.root / "cmrg.toml"
    _settings(path, **{'holidays = "England"': 'holidays = "northern  ireland"'})
    assert load_config(path).holidays == "Northern Ireland"
    _settings(path, **{'holidays = "northern  ireland"': 'holidays = "None"'})
    assert load_config(path).holidays == "none"
    # A cmrg.toml written before the setting existed: England.
    _settings(path, **{'holidays = "None"': ""})
    assert load_config(path).holidays == "England"


def test_generated_workbooks_emails_and_ledger_carry_the_moved_deadline(small_workspace):
    result = generate_round(small_workspace, "R1", eml=True, today=D(2026, 11, 27))
    assert result.deadline == D(2026, 12, 29)
    wb = openpyxl.load_workbook(result.files[0].path)
    due = next(row[2].value for row in wb["Instructions"].iter_rows() if row[1].value == "Please return by")
    assert due.date() == D(2026, 12, 29)
    msg = email.message_from_bytes(result.files[0].eml.read_bytes(), policy=email.policy.default)
    assert "29/12/2026" in msg["Subject"] and "29/12/2026" in msg.get_body(("plain",)).get_content()
    conn = reg.open_register(small_workspace)
    try:
        assert {i.deadline for i in reg.list_issues(conn, "R1")} == {"2026-12-29"}
    finally:
        conn.close()


def _generate(ws):
    res = CliRunner().invoke(cli, ["generate", "--round", "R1", "-w", str(ws.root)])
    assert res.exit_code == 0, res.output
    return res.output


def test_generate_warns_when_the_set_deadline_is_not_a_working_day(small_workspace):
    _settings(small_workspace.root / "cmrg.toml", **{"# deadline = 2027-01-29": "deadline = 2026-12-25"})
    out = _generate(open_workspace(small_workspace.root))
    assert "Deadline for returns: 25/12/2026\n" in out
    warnings = [line for line in out.splitlines() if line.startswith("Warning")]
    assert warnings == ["Warning: that is Christmas Day, a bank holiday in England; "
                        "the deadline set in cmrg.toml is kept as written."]
    conn = reg.open_register(small_workspace)
    try:
        assert {i.deadline for i in reg.list_issues(conn, "R1")} == {"2026-12-25"}
    finally:
        conn.close()


def test_generate_warns_about_a_set_weekend_deadline_but_not_a_working_day(tmp_path, small_workspace):
    path = small_workspace.root / "cmrg.toml"
    _settings(path, **{"# deadline = 2027-01-29": "deadline = 2027-01-30", 'holidays = "England"': 'holidays = "none"'})
    out = _generate(small_workspace)
    assert "Warning: that is a Saturday; the deadline set in cmrg.toml is kept as written." in out
    _settings(path, **{"deadline = 2027-01-30": "deadline = 2027-01-29"})
    out = CliRunner().invoke(cli, ["generate", "--round", "R2", "-w", str(small_workspace.root)]).output
    assert "Deadline for returns: 29/01/2027" in out and "Warning" not in out
