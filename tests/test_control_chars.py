"""Control characters never reach the terminal or a text file raw (issue 11.15).

A file name or a cell can carry an escape sequence (an OSC sequence retitles the terminal or
plants a link; a bidi override reverses what is read): everywhere cmrg shows people's text it
shows such characters as visible escapes instead."""

from __future__ import annotations

import email
import email.policy
import re

import openpyxl
import pytest
from click.testing import CliRunner

from cmrg_excel.cli import cli
from cmrg_excel.core.terminal import clip, table
from cmrg_excel.core.textsafe import visible
from cmrg_excel.issue.mail import Letter, make_eml

from .hostile import members, rezip
from .returns import complete_answers, drop, filled, framework_of, issue_of

RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
OSC = "\x1b]0;pwned\x07"


@pytest.mark.parametrize("text, shown", [
    ("plain £ café", "plain £ café"),
    ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
    (OSC + "x", "\\x1b]0;pwned\\x07x"),
    ("a\x7fb\x9bc", "a\\x7fb\\x9bc"),
    ("left\u202eright", "left\\u202eright"),
    ("two\nlines\ttab", "two\\nlines\\ttab"),
])
def test_visible_escapes_every_control_character(text, shown):
    assert visible(text) == shown
    assert not RAW.search(visible(text))


def test_visible_keeps_line_breaks_in_multi_line_text():
    assert visible("one\ntwo\x1b", lines=True) == "one\ntwo\\x1b"


def test_terminal_tables_and_clipped_lines_show_controls_as_escapes():
    out = table([[OSC + "name.xlsx", "\x1b[2J"]], ["File", "Reason"])
    assert not RAW.search(out) and "\\x1b]0;pwned\\x07name.xlsx" in out
    assert not RAW.search(clip("\x1b[2J" * 50, 20))


def test_eml_bodies_and_subjects_show_controls_as_escapes():
    data = make_eml("cmrg@test.gov.uk", "Jane\x1b[2J", "jane@test.gov.uk",
                    Letter("Return for Roads\x1b]0;x\x07", "Dear Jane,\n\nRoads\x1b[31m and paths\n"), [])
    msg = email.message_from_bytes(data, policy=email.policy.default)
    body = msg.get_body().get_content().replace("\r\n", "\n")  # the message's own line ends
    assert not RAW.search(body) and "Roads\\x1b[31m and paths" in body and body.startswith("Dear Jane,\n\n")
    assert not RAW.search(str(msg["Subject"])) and not RAW.search(str(msg["To"]))


def with_controls(data: bytes, mark: str, replacement: bytes) -> bytes:
    """A filled return with ``mark`` replaced in its XML: _x001B_ is how Excel stores an ESC in a cell."""
    return rezip(data, {k: v.replace(mark.encode(), replacement) for k, v in members(data).items()
                        if mark.encode() in v})


@pytest.fixture
def hostile_return(issued):
    ws, _ = issued
    fw = framework_of(ws, issue_of(ws, "C-0001"))
    answers = complete_answers(fw)
    first, second = fw.activities[0].ref, fw.activities[1].ref
    answers[first]["rating"] = "ESCMARK]0;pwned_x0007_2 Good"
    answers[second]["rating"] = "2 GoodZWSP"
    data = with_controls(filled(ws, answers=answers), "ESCMARK", b"_x001B_")
    data = with_controls(data, "ZWSP", "\u200b".encode())
    name = OSC + "C-0001.xlsx"
    drop(ws, name, data)
    return ws, name, fw


def test_an_escape_sequence_in_a_file_name_and_a_rating_reaches_nothing_raw(hostile_return):
    ws, name, fw = hostile_return
    result = CliRunner().invoke(cli, ["ingest", "-w", str(ws.root)])
    assert result.exit_code == 0, result.output
    assert not RAW.search(result.output) and "\\x1b]0;pwned\\x07C-0001" in result.output
    notes = list(ws.rejected.glob("*.problems.txt"))
    assert len(notes) == 1
    text = notes[0].read_text(encoding="utf-8")
    assert not RAW.search(text), text
    assert "\\x1b]0;pwned\\x07" in text
    assert "contains an invisible character (ESCAPE, U+001B)" in text
    assert "contains an invisible character (ZERO WIDTH SPACE, U+200B)" in text
    report = max(ws.outbox.glob("ingest-*.xlsx"))
    wb = openpyxl.load_workbook(report, read_only=True)
    for sheet in wb.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                assert not (isinstance(value, str) and RAW.search(value)), (sheet.title, value)


def test_a_text_over_excels_limit_reports_its_real_length(issued):
    ws, _ = issued
    fw = framework_of(ws, issue_of(ws, "C-0001"))
    answers = complete_answers(fw)
    answers[fw.activities[0].ref]["evidence"] = "LONGMARK"
    data = with_controls(filled(ws, answers=answers), "LONGMARK", b"y" * 40_000)  # Excel stops typing at 32,767
    drop(ws, "C-0001.xlsx", data)
    result = CliRunner().invoke(cli, ["ingest", "-w", str(ws.root)])
    text = next(ws.rejected.glob("*.problems.txt")).read_text(encoding="utf-8")
    assert "the evidence is 40000 characters long; keep it to 4000" in text, result.output
