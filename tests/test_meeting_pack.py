"""The meeting pack (cmrg meeting pack): its figures, and each challenge question exactly when it is due."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from click.testing import CliRunner
from docx import Document as open_docx

from cmrg_excel import register as reg
from cmrg_excel.cli import cli
from cmrg_excel.core.framework import find as find_framework
from cmrg_excel.intake.ingest import ingest
from cmrg_excel.review.pack import contract_pack

from .returns import complete_answers, drop, filled, framework_of, issue_of

FW = find_framework("nao-cm-areas-1-8")
LABEL = {lv.score: lv.label for lv in FW.scale.levels}
MEETING = dt.date(2027, 2, 12)


def frame(ratings: dict[str, dict[str, object]], contract: str = "C-1", round: str = "R2",
          received: str = "2027-01-10") -> pd.DataFrame:
    """Answers as the register gives them: every activity rated 2 Good with evidence, unless overridden."""
    rows = []
    for act in FW.activities:
        over = ratings.get(act.ref, {})
        score = over.get("score", 2)
        na = score is None
        rows.append({
            "contract_id": contract, "round": round, "area": act.area, "ref": act.ref,
            "rating": FW.scale.not_applicable if na else LABEL[score], "score": float("nan") if na else float(score),
            "not_applicable": na, "evidence": over.get("evidence", "Board minutes and the plan, version 3"),
            "action": over.get("action", ""), "action_owner": over.get("owner", ""),
            "target_date": pd.Timestamp(over["target"]) if "target" in over else pd.NaT,
            "received_at": pd.Timestamp(received, tz="UTC"), "title": "Highways", "supplier": "Roads Ltd",
            "directorate": "Growth", "owner_name": "Jane", "risk": "High", "complexity": "Low",
            "attested_name": "Jane", "attested_on": "2027-01-09",
        })
    return pd.DataFrame(rows)


def rules(pack) -> list[str]:
    return [q.rule for q in pack.questions]


def test_a_plain_return_gets_only_the_framework_questions_for_its_weakest_activities():
    pack = contract_pack("C-1", frame({"3.2": {"score": 0}}), {}, FW, MEETING)
    assert pack.weakest[0][0] == "3.2"
    assert set(rules(pack)) == {"framework"}
    assert [q.text for q in pack.questions][:2] == list(FW.activity("3.2").questions[:2])


@pytest.mark.parametrize("evidence, asked", [("", True), ("see file", True), ("Board minutes of 12/01/2027 and KPI pack", False)])
def test_a_high_rating_with_thin_evidence_is_questioned(evidence, asked):
    pack = contract_pack("C-1", frame({"5.4": {"score": 4, "evidence": evidence}}), {}, FW, MEETING)
    hits = [q for q in pack.questions if q.rule == "high-no-evidence"]
    assert bool(hits) == asked
    if asked:
        assert hits[0].text.startswith("Activity 5.4 is rated 4 Best with ")


def test_a_good_rating_without_evidence_is_not_a_high_rating():
    pack = contract_pack("C-1", frame({"5.4": {"score": 2, "evidence": ""}}), {}, FW, MEETING)
    assert "high-no-evidence" not in rules(pack)


def test_an_area_far_above_the_council_average_is_questioned():
    mine = frame({a.ref: {"score": 4} for a in FW.area(6).activities})
    others = pd.concat([frame({}, contract=f"C-{k}") for k in range(2, 5)])
    pack = contract_pack("C-1", pd.concat([mine, others]), {}, FW, MEETING)
    hits = [q for q in pack.questions if q.rule == "far-above-average"]
    assert len(hits) == 1 and "area 6 (Payment and incentives) average 4.0, against 2.5" in hits[0].text
    # one level above is not far above
    mine = frame({a.ref: {"score": 3} for a in FW.area(6).activities})
    pack = contract_pack("C-1", pd.concat([mine, frame({}, contract="C-2")]), {}, FW, MEETING)
    assert "far-above-average" not in rules(pack)


@pytest.mark.parametrize("before, now, asked", [(0, 2, True), (1, 4, True), (1, 2, False), (4, 2, True)])
def test_a_jump_of_two_levels_since_the_last_review_is_questioned(before, now, asked):
    old = frame({"7.2": {"score": before}}, round="R1", received="2026-01-10")
    new = frame({"7.2": {"score": now}}, round="R2")
    pack = contract_pack("C-1", pd.concat([old, new]), {}, FW, MEETING)
    assert pack.previous_round == "R1"
    assert ("jump" in rules(pack)) == asked
    assert (pack.changes == [("7.2", LABEL[before], LABEL[now])]) == asked


@pytest.mark.parametrize("target, asked", [("2027-01-31", True), ("2027-03-31", False)])
def test_an_overdue_action_is_questioned(target, asked):
    pack = contract_pack("C-1", frame({"2.3": {"score": 1, "action": "Train the team", "owner": "Sam",
                                               "target": target}}), {}, FW, MEETING)
    hits = [q for q in pack.questions if q.rule == "overdue-action"]
    assert bool(hits) == asked
    assert pack.actions[0][4] == ("overdue" if asked else "due")
    if asked:
        assert hits[0].text == "The improvement action for 2.3, 'Train the team' (Sam), was due on 31/01/2027: where has it got to?"


def test_every_activity_of_areas_1_to_8_has_two_or_three_questions():
    for fw in (FW, find_framework("nao-cm-11-areas")):
        for act in fw.activities:
            if act.area <= 8:
                assert 2 <= len(act.questions) <= 3, act.ref
                assert all(q.endswith("?") for q in act.questions), act.ref


def test_questions_are_not_part_of_what_owners_rate():
    from dataclasses import replace

    from cmrg_excel.core.framework import content_hash

    bare = replace(FW, areas=tuple(replace(a, activities=tuple(replace(x, questions=()) for x in a.activities))
                                   for a in FW.areas))
    assert content_hash(bare) == FW.content_hash


@pytest.fixture
def reviewed(issued):
    ws, _ = issued
    for cid, seed in (("C-0001", 0), ("C-0002", 3)):
        fw = framework_of(ws, issue_of(ws, cid))
        drop(ws, f"{cid}.xlsx", filled(ws, cid, answers=complete_answers(fw, seed)))
    assert ingest(ws, write_report=False).count("accepted") == 2
    return ws


def test_pack_end_to_end_area_averages_match_the_register(reviewed):
    ws = reviewed
    result = CliRunner().invoke(cli, ["meeting", "pack", "--date", "12/02/2027", "C-0001", "C-0003", "C-0002",
                                      "--workspace", str(ws.root)])
    assert result.exit_code == 0, result.output
    assert "C-0003: left out of the pack: no accepted self-assessment" in result.output
    path = ws.outbox / "meetings" / "2027-02-12" / "pack.docx"
    doc = open_docx(str(path))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings.count("Suggested challenge questions") == 2
    assert "C-0001: Highways maintenance" in headings and "C-0002: Home care" in headings
    # independently: the mean over contracts of each contract's mean score per area
    answers = reg.answers(ws)
    council = answers.groupby(["contract_id", "area"])["score"].mean().groupby("area").mean()
    mine = answers[answers.contract_id == "C-0001"].groupby("area")["score"].mean()
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == "Area")
    for row in table.rows[1:]:
        area = int(row.cells[0].text.split()[0])
        assert row.cells[1].text == f"{mine[area]:.2f}" and row.cells[2].text == f"{council[area]:.2f}"
    agenda = "\n".join(p.text for p in doc.paragraphs)
    assert "Not in this pack: C-0003 (no accepted self-assessment" in agenda


def test_a_pack_with_no_reviewable_contract_is_an_error(reviewed):
    result = CliRunner().invoke(cli, ["meeting", "pack", "--date", "12/02/2027", "C-0003",
                                      "--workspace", str(reviewed.root)])
    assert result.exit_code == 1 and "no pack was written" in result.output
    assert not (reviewed.outbox / "meetings").exists()
