"""README.md's transcripts are what the commands print today (issue 15, item 5).

Every ``$ cmrg`` block of the README is run for real, in order, in a fresh folder (see
tests/readme_transcripts.py); each command must succeed and print what the README shows,
dates, times, durations and paths aside. After a change of wording, run
``python -m tests.readme_transcripts --update`` and read the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .readme_transcripts import matches, normalise, replay, steps


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    base = tmp_path_factory.mktemp("readme")
    return base, replay(base)


def test_the_readme_has_a_transcript_for_every_step_of_the_walkthrough():
    commands = [s.command.split()[1] for s in steps()]
    for name in ("init", "plan", "generate", "simulate", "ingest", "status", "chase", "corrections", "summary",
                 "register", "demo"):
        assert name in commands, name
    # the practice returns come before the ingest that files them
    assert commands.index("simulate") < commands.index("ingest")


def test_every_readme_transcript_matches_real_output(replayed):
    base, results = replayed
    roots = [base, base / "demo-run", Path.home()]
    wrong = []
    for step, output, code in results:
        if code != 0 or not matches(step.expected, output, roots + [Path("/home/you")]):
            wrong.append(f"README line {step.line}: $ {step.command} (exit {code})\n--- README:\n"
                         + "\n".join(step.expected) + f"\n--- real:\n{output}")
    assert not wrong, "\n\n".join(wrong[:3])


def test_the_comparison_notices_a_changed_figure_and_ignores_dates_and_paths(tmp_path):
    expected = ["Deadline for returns: 29/12/2026", "  24 contract(s), value £210,525,000", "...", "Report: x"]
    real = ("Deadline for returns: 31/12/2026\n  24 contract(s), value £210,525,000\n  more lines\n"
            "Report: x\n")
    assert matches(expected, real, [tmp_path])
    assert not matches(expected, real.replace("210,525,000", "232,035,000"), [tmp_path])
    assert not matches(expected, real.replace("Report: x", "Report: y"), [tmp_path])
    assert normalise(f"Workspace ready in {tmp_path}/cyc at 15:46", [tmp_path]) == "Workspace ready in <dir>/cyc at <time>"
