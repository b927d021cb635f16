"""The workspace: its settings file, folders and run lock."""

from __future__ import annotations

import re

import pytest

from cmrg_excel.core.workspace import CONFIG_TEMPLATE, WorkspaceError, load_config, open_workspace
from cmrg_excel.programme.init import init_workspace


def test_every_setting_in_the_template_is_explained():
    lines = CONFIG_TEMPLATE.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^[a-z_]+ = ", line):
            explained = "#" in line or lines[i - 1].startswith("#")
            assert explained, f"setting without a comment: {line}"


def test_init_makes_folders_and_keeps_existing_files(tmp_path):
    ws, made = init_workspace(tmp_path / "ws", council="Test Council", password="pw")
    names = {p.name for p in made}
    assert {"cmrg.toml", "contracts.xlsx", "inbox", "outbox", "archive", "frameworks"} <= names
    (ws.root / "cmrg.toml").write_text((ws.root / "cmrg.toml").read_text().replace("Test Council", "Kept"))
    _, made_again = init_workspace(tmp_path / "ws")
    assert made_again == [] and open_workspace(ws.root).config.council_name == "Kept"


def test_bad_settings_name_the_setting(tmp_path):
    ws, _ = init_workspace(tmp_path / "ws")
    cfg = ws.root / "cmrg.toml"
    cfg.write_text(cfg.read_text().replace("deadline_days = 28", "deadline_days = 0"))
    with pytest.raises(WorkspaceError, match=r"\[templates\] deadline_days must be a whole number from 1 to 365 \(found 0\)"):
        load_config(cfg)
    cfg.write_text(cfg.read_text().replace("# deadline = 2027-01-29", 'deadline = "soon"'))
    with pytest.raises(WorkspaceError, match=r"\[templates\] deadline must be a date"):
        load_config(cfg)


def test_a_second_run_waits_then_refuses_clearly(tmp_path):
    ws, _ = init_workspace(tmp_path / "ws")
    with ws.lock("ingest"):
        with pytest.raises(WorkspaceError, match="another cmrg run is using this workspace"):
            with ws.lock("generate", wait_seconds=0.2):
                pass
    with ws.lock("generate", wait_seconds=0.2):  # free again once the first run ends
        pass


def test_not_a_workspace(tmp_path):
    with pytest.raises(WorkspaceError, match="is not a cmrg workspace"):
        open_workspace(tmp_path)


@pytest.mark.parametrize("value", ['"Cornwall"', '"ENG"', '""', "3", "true"])
def test_a_bad_holidays_setting_names_the_setting_and_the_choices(tmp_path, value):
    ws, _ = init_workspace(tmp_path / "ws")
    cfg = ws.root / "cmrg.toml"
    cfg.write_text(cfg.read_text().replace('holidays = "England"', f"holidays = {value}"))
    expected = r'\[templates\] holidays must be "England", "Wales", "Scotland", "Northern Ireland" or "none" \(found '
    with pytest.raises(WorkspaceError, match=expected) as err:
        load_config(cfg)
    assert str(err.value).startswith(f"{cfg}: setting")
