"""cmrg.toml is checked once, every setting, when the workspace opens (issue 11.12, 17.8).

Each bad file is a one-line error naming the file, the setting and the fix; no command writes
anything before its settings are known good."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from click.testing import CliRunner

from cmrg_excel.cli import cli
from cmrg_excel.core import settings as S
from cmrg_excel.core.workspace import CONFIG_TEMPLATE, WorkspaceError, load_config, open_workspace
from cmrg_excel.programme.init import init_workspace


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def cfg(tmp_path):
    ws, _ = init_workspace(tmp_path / "ws", council="Test Council", return_email="cmrg@test.gov.uk", password="pw")
    return ws.root / "cmrg.toml"


def edit(cfg, old: str, new: str) -> None:
    text = cfg.read_text(encoding="utf-8")
    assert old in text, old
    cfg.write_text(text.replace(old, new, 1), encoding="utf-8")


def one_line_error(cfg, *words: str) -> str:
    with pytest.raises(WorkspaceError) as err:
        load_config(cfg)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(cfg)), message
    for w in words:
        assert w in message, (w, message)
    return message


def test_the_template_loads_with_every_setting_known():
    raw = S.parse_text(CONFIG_TEMPLATE.format(council="C", return_email="a@b.gov.uk", password="p"), "cmrg.toml")
    checked = S.check_all(raw, "cmrg.toml")
    for section, keys in S.SCHEMA.items():
        assert set(checked[section]) == set(keys), section
    assert checked["plan"]["weight_value"] == 30 and checked["ingest"]["workers"] == 2


def test_a_line_break_in_return_email_is_refused_when_the_workspace_opens(cfg):
    edit(cfg, 'return_email = "cmrg@test.gov.uk"', 'return_email = "cmrg@test.gov.uk\\nBcc: all@council.gov.uk"')
    one_line_error(cfg, "[council] return_email", "one email address", "\\n")


def test_generate_eml_with_a_bad_return_email_writes_nothing(small_workspace):
    ws = small_workspace
    edit(ws.root / "cmrg.toml", 'return_email = "cmrg@test.gov.uk"', 'return_email = "cmrg@test.gov.uk\\nX: y"')
    result = run("generate", "-w", ws.root, "--round", "R1", "--eml")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "[council] return_email" in result.output
    assert not (ws.outbox / "R1").exists()


@pytest.mark.parametrize("old, new, words", [
    ('name = "Test Council"', 'name = "Test\\u0007Council"', ["[council] name", "one line of text"]),
    ('review_group = "Contract Management Review Group"', "review_group = 3", ["[council] review_group", "text"]),
    ('marking = ""', 'marking = "' + "X" * 81 + '"', ["[council] marking", "80 characters"]),
    ('password = "pw"', 'password = "a\\nb"', ["[templates] password", "one line"]),
    ('contracts = "contracts.xlsx"', 'contracts = "contracts.docx"', ["[templates] contracts", ".xlsx"]),
    ('framework = "nao-cm-areas-1-8"', 'framework = ""', ["[templates] framework"]),
    ("# deadline = 2027-01-29", "deadline = 0001-01-01", ["[templates] deadline", "2000", "2099"]),
    ("# deadline = 2027-01-29", "deadline = 2027-01-29T25:00:00", ["line"]),
    ("max_file_mb = 10", "max_file_mb = nan", ["[ingest] max_file_mb", "(found nan)"]),
    ("workers = 2", "workers = 2.5", ["[ingest] workers", "whole number"]),
    ("weight_value = 30", "weight_value = inf", ["[plan] weight_value", "(found inf)"]),
    ("weight_risk = 20", "weight_risk = nan", ["[plan] weight_risk"]),
    ("per_month = 3", 'per_month = "3"', ["[plan] per_month", "whole number", "written without quotes"]),
    ("strength_share = 0.75", "strength_share = 7.5", ["[summary] strength_share", "from 0 to 1"]),
    ("top_n = 5", "top_n = 0", ["[summary] top_n"]),
    ('subject = "Contract Management Review Group: progress report"', 'subject = """two\nlines"""',
     ["[report] subject", "one line"]),
    ("benefit_threshold_gbp = 100000", "benefit_threshold_gbp = 1e310", ["[report] benefit_threshold_gbp"]),
])
def test_every_setting_is_checked_when_the_file_loads(cfg, old, new, words):
    edit(cfg, old, new)
    one_line_error(cfg, *words)


def test_a_bad_summary_setting_stops_every_command_not_only_summary(cfg):
    edit(cfg, "top_n = 5", 'top_n = "five"')
    result = run("status", "-w", cfg.parent)
    assert result.exit_code == 1 and "[summary] top_n" in result.output and "Traceback" not in result.output


def test_an_unknown_setting_or_section_is_named(cfg):
    edit(cfg, "top_n = 5", "top_n = 5\nstrenght_share = 0.5")
    one_line_error(cfg, "[summary] strenght_share is not a known setting", "check the spelling")
    edit(cfg, "strenght_share = 0.5", "")
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n[sumary]\ntop_n = 3\n", encoding="utf-8")
    one_line_error(cfg, "[sumary] is not a known section")


def test_all_weights_zero_is_refused_when_the_file_loads(cfg):
    for key, value in (("weight_value", 30), ("weight_risk", 20), ("weight_complexity", 10),
                       ("weight_audit_synergy", 10), ("weight_timing", 20), ("weight_since_review", 10)):
        edit(cfg, f"{key} = {value}", f"{key} = 0")
    one_line_error(cfg, "[plan] weight_", "all zero")


@pytest.mark.parametrize("text, words", [
    ('council = "x"\n', ["council", "[council]", "section"]),
    ('[[council]]\nname = "x"\n', ["[[council]]", "[council]", "single brackets"]),
    ("[templates]\ndeadline = 2027-02-30\n", ["line 2"]),
    ("[council]\nname = 'unclosed\n", ["not valid TOML", "quotes"]),
])
def test_a_badly_shaped_file_is_a_one_line_error(cfg, text, words):
    cfg.write_text(text, encoding="utf-8")
    one_line_error(cfg, *words)


def test_a_section_written_inside_another_is_named(cfg):
    cfg.write_text('[council]\nname = "x"\n[council.extra]\nkey = 1\n', encoding="utf-8")
    one_line_error(cfg, "[council] extra")


def test_a_bom_or_utf16_file_from_notepad_is_read(cfg):
    text = cfg.read_text(encoding="utf-8").replace("Test Council", "Conseil Général")
    cfg.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert load_config(cfg).council_name == "Conseil Général"
    cfg.write_bytes(text.encode("utf-16"))  # Notepad's "Unicode": UTF-16 with its byte-order mark
    assert load_config(cfg).council_name == "Conseil Général"


def test_a_file_in_another_encoding_is_named_with_the_fix(cfg):
    text = cfg.read_text(encoding="utf-8").replace("Test Council", "Café Council")
    cfg.write_bytes(text.encode("cp1252"))
    one_line_error(cfg, "not saved as UTF-8", "line 7", "save it as UTF-8")
    cfg.write_bytes(text.encode("utf-16-le"))  # no byte-order mark
    one_line_error(cfg, "UTF-16", "save it as UTF-8")


def test_init_applies_the_same_rules_and_keeps_quotes(tmp_path):
    with pytest.raises(WorkspaceError, match=r"return_email"):
        init_workspace(tmp_path / "a", return_email="a@b.gov.uk\nBcc: x@y.gov.uk")
    assert not (tmp_path / "a" / "cmrg.toml").exists()
    ws, _ = init_workspace(tmp_path / "b", council='The "Royal" Borough \\ of Test')
    assert open_workspace(ws.root).config.council_name == 'The "Royal" Borough \\ of Test'


def test_plan_settings_come_from_the_one_loader(cfg):
    from cmrg_excel.issue.plan import PlanSettings

    ws = open_workspace(cfg.parent)
    settings = PlanSettings.from_section(ws.config.section("plan"))
    assert settings.per_month == 3 and settings.weights["value"] == 30.0
    assert ws.config.section("summary")["top_n"] == 5  # defaults filled in by the loader
    with pytest.raises(S.SettingsError, match=r"\[plan\] weight_value"):
        PlanSettings.from_section({"weight_value": float("inf")})


def test_a_deadline_in_the_past_is_refused_by_generate(small_workspace):
    ws = small_workspace
    edit(ws.root / "cmrg.toml", "# deadline = 2027-01-29", "deadline = 2020-01-31")
    result = run("generate", "-w", ws.root, "--round", "R1")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "deadline" in result.output and "31/01/2020" in result.output and "passed" in result.output
    assert not (ws.outbox / "R1").exists()
