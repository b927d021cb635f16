"""cmrg status: where each return stands in a round."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest
from click.testing import CliRunner

from cmrg_excel import register as reg
from cmrg_excel.cli import cli
from cmrg_excel.programme.status import ACCEPTED, OUTSTANDING, REJECTED, StatusError, load_round_status, problem_text, round_status, write_status_workbook

# The `issued` fixture generates R1 on 02/11/2026 with deadline_days = 28.
DEADLINE = dt.date(2026, 11, 30)
BEFORE, AFTER = dt.date(2026, 11, 20), dt.date(2026, 12, 5)

PROBLEMS = [
    {"sheet": "Assessment", "cell": "E12", "ref": "1.3", "found": "", "expected": "a rating",
     "message": "no rating given", "code": "missing-rating"},
    "Attestation!C5: the name is missing",
    {"sheet": "Assessment", "cell": "F20", "ref": "3.1", "message": "rating Best needs evidence"},
]


def add_submission(ws, *, contract_id, outcome, token=None, round="R1", status=None, problems=(),
                   received_at="2026-11-10T09:00:00+00:00", name=None, stored_path=None):
    """A submissions row written directly (the ingest stage writes these in real use)."""
    conn = reg.open_register(ws)
    try:
        n = conn.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] + 1
        with reg.transaction(conn):
            cur = conn.execute(
                "INSERT INTO submissions (file_sha256, original_name, stored_path, received_at, outcome, status, "
                "token, contract_id, round, problems) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (f"{n:064x}", name or f"{contract_id}.xlsx", stored_path or f"archive/{n}.xlsx", received_at, outcome,
                 status if status is not None else ("current" if outcome == "accepted" else None),
                 token, contract_id, round, json.dumps(list(problems))),
            )
            return cur.lastrowid
    finally:
        conn.close()


def token_of(ws, contract_id, round="R1"):
    conn = reg.open_register(ws)
    try:
        return next(i.token for i in reg.list_issues(conn, round, open_only=True) if i.contract_id == contract_id)
    finally:
        conn.close()


@pytest.fixture
def mixed(issued):
    """R1 with C-0001 accepted, C-0002 rejected (twice), C-0003 outstanding, and one stray rejected file."""
    ws, _ = issued
    add_submission(ws, contract_id="C-0001", outcome="accepted", token=token_of(ws, "C-0001"),
                   received_at="2026-11-12T10:00:00+00:00")
    add_submission(ws, contract_id="C-0002", outcome="rejected", token=token_of(ws, "C-0002"),
                   problems=["old problem"], received_at="2026-11-11T10:00:00+00:00")
    add_submission(ws, contract_id="C-0002", outcome="rejected", token=token_of(ws, "C-0002"),
                   problems=PROBLEMS, received_at="2026-11-14T10:00:00+00:00")
    add_submission(ws, contract_id=None, outcome="rejected", token=None, round="R1", name="unknown.xlsx",
                   problems=["no issue token: not a workbook we sent"])
    return ws


def test_counts_after_a_mixed_state(mixed):
    before = load_round_status(mixed, today=BEFORE)
    assert before.round == "R1"
    states = {c.contract_id: c.state for c in before.contracts}
    assert states == {"C-0001": ACCEPTED, "C-0002": REJECTED, "C-0003": OUTSTANDING}
    assert before.totals == {"issued": 3, "accepted": 1, "rejected": 1, "outstanding": 1, "overdue": 0}
    assert before.unmatched_rejections == 1
    assert all(c.deadline == DEADLINE for c in before.contracts)

    after = load_round_status(mixed, today=AFTER)
    assert after.totals == {"issued": 3, "accepted": 1, "rejected": 1, "outstanding": 1, "overdue": 2}
    by = {c.contract_id: c for c in after.contracts}
    assert by["C-0003"].label == "Overdue" and by["C-0003"].days_overdue == 5
    assert by["C-0002"].label == "Rejected, overdue"
    assert by["C-0001"].overdue is False and by["C-0001"].days_overdue == 0
    # the latest rejected return's problems, each as one readable line
    assert by["C-0002"].problems[0] == "Assessment!E12 (activity 1.3): no rating given"
    assert by["C-0002"].problems[1] == "Attestation!C5: the name is missing"
    assert by["C-0002"].rejected_count == 2
    assert by["C-0002"].received_at.startswith("2026-11-14")


def test_deadline_option_overrides_the_issued_deadline(mixed):
    status = load_round_status(mixed, today=BEFORE, deadline=dt.date(2026, 11, 15))
    assert status.totals["overdue"] == 2
    assert {c.deadline for c in status.contracts} == {dt.date(2026, 11, 15)}


def test_accepted_wins_over_a_later_rejected_duplicate_and_token_alone_is_enough(issued):
    ws, _ = issued
    # contract and round not recorded on the row: matched by the token in the file
    add_submission(ws, contract_id=None, round=None, outcome="accepted", token=token_of(ws, "C-0003"))
    add_submission(ws, contract_id="C-0003", outcome="rejected", token=token_of(ws, "C-0003"),
                   problems=["this file was already received"], received_at="2026-11-20T10:00:00+00:00")
    by = {c.contract_id: c for c in load_round_status(ws, today=AFTER).contracts}
    assert by["C-0003"].state == ACCEPTED


def test_a_superseded_acceptance_does_not_count(issued):
    ws, _ = issued
    add_submission(ws, contract_id="C-0001", outcome="accepted", status="superseded", token=token_of(ws, "C-0001"))
    by = {c.contract_id: c for c in load_round_status(ws, today=BEFORE).contracts}
    assert by["C-0001"].state == OUTSTANDING


def test_another_contracts_workbook_does_not_count_against_that_contract(issued):
    ws, _ = issued
    # The owner of C-0001 sent C-0002's workbook: C-0002's owner has sent nothing.
    add_submission(ws, contract_id="C-0002", outcome="rejected", token=token_of(ws, "C-0002"), name="C-0001.xlsx",
                   problems=[{"sheet": "", "cell": "", "code": "wrong-contract",
                              "message": "This is another contract's workbook"}])
    status = load_round_status(ws, today=BEFORE)
    by = {c.contract_id: c for c in status.contracts}
    assert by["C-0002"].state == OUTSTANDING and by["C-0001"].state == OUTSTANDING
    assert status.unmatched_rejections == 1


def test_latest_round_by_default_and_unknown_rounds(issued):
    ws, _ = issued
    from cmrg_excel.issue.generate import generate_round

    generate_round(ws, "R2", only=["C-0001"], today=dt.date(2027, 5, 1))
    status = load_round_status(ws, today=BEFORE)
    assert status.round == "R2" and [c.contract_id for c in status.contracts] == ["C-0001"]
    # 28 days on is Saturday 29/05/2027, and Monday 31/05 is the Spring bank holiday.
    assert status.contracts[0].deadline == dt.date(2027, 6, 1)
    with pytest.raises(StatusError, match="rounds issued: R1, R2"):
        load_round_status(ws, "R9")


def test_no_round_yet(small_workspace):
    with pytest.raises(StatusError, match="cmrg generate"):
        load_round_status(small_workspace)
    assert not small_workspace.register_path.exists()


def test_reissue_within_a_round_keeps_one_row_per_contract(issued):
    ws, _ = issued
    from cmrg_excel.issue.generate import generate_round

    generate_round(ws, "R1", only=["C-0002"], force=True, today=dt.date(2026, 11, 9))
    status = load_round_status(ws, today=BEFORE)
    assert [c.contract_id for c in status.contracts] == ["C-0001", "C-0002", "C-0003"]
    c2 = next(c for c in status.contracts if c.contract_id == "C-0002")
    assert c2.issue.status == "issued" and c2.deadline == dt.date(2026, 12, 7)


def test_problem_text_forms():
    assert problem_text({"message": "bad"}) == "bad"
    assert problem_text({"sheet": "Contract", "message": "bad"}) == "Contract: bad"
    assert problem_text("plain") == "plain"
    assert round_status("R1", [], [], BEFORE).totals["issued"] == 0


def test_status_workbook(mixed, tmp_path):
    status = load_round_status(mixed, today=AFTER)
    path = write_status_workbook(status, tmp_path / "status-R1.xlsx", "Test Council")
    wb = openpyxl.load_workbook(path)
    sh = wb["Status"]
    assert list(sh.tables) == ["Status"]
    assert [sh.cell(4, c).value for c in (1, 3, 5, 7, 9)] == [3, 1, 1, 1, 2]
    top = next(c.row for c in sh["A"] if c.value == "Contract ID")
    assert top == 7 + (1 if status.unmatched_rejections else 0)  # below the note, not over it
    header = [c.value for c in sh[top]]
    assert header[:5] == ["Contract ID", "Contract", "Directorate", "Deadline", "Status"]
    assert header[-2:] == ["Owner", "Owner email"]  # after the printed columns, for a mail merge
    rows = {r[0]: dict(zip(header, r)) for r in sh.iter_rows(min_row=top + 1, max_row=top + 3, values_only=True)}
    assert rows["C-0003"]["Status"] == "Overdue" and rows["C-0003"]["Days overdue"] == 5
    assert rows["C-0003"]["Deadline"] == dt.datetime(2026, 11, 30)
    assert sh.cell(top + 1, header.index("Deadline") + 1).number_format == "dd/mm/yyyy"
    assert "Assessment!E12" in rows["C-0002"]["Problems to fix (latest rejected return)"]
    assert rows["C-0001"]["Received"] == dt.datetime(2026, 11, 12)
    assert rows["C-0001"]["Owner email"]
    assert sh.cell(top + 1, header.index("Days overdue") + 1).alignment.horizontal == "center"  # days overdue: not against the received date
    assert sh.page_setup.orientation == "landscape" and sh.print_area == f"'Status'!$A$1:$J${top + 3}"


# --- command line ----------------------------------------------------------------------
def test_cli_status(mixed):
    result = CliRunner().invoke(cli, ["status", "-w", str(mixed.root), "--deadline", "01/11/2026"])
    assert result.exit_code == 0, result.output
    assert "Round R1" in result.output
    assert ("Issued 3 | accepted 1 | rejected, awaiting correction 1 | outstanding 1 | overdue 2"
            in result.output)
    assert "C-0003" in result.output and "Overdue" in result.output
    assert "Written: outbox/status-R1.xlsx" in result.output.replace("\\", "/")
    assert (mixed.outbox / "status-R1.xlsx").exists()
    assert "cmrg chase --round R1" in result.output


def test_cli_status_errors(mixed):
    runner = CliRunner()
    bad_round = runner.invoke(cli, ["status", "-w", str(mixed.root), "--round", "R9"])
    assert bad_round.exit_code == 1 and "has not been issued" in bad_round.output
    bad_date = runner.invoke(cli, ["status", "-w", str(mixed.root), "--deadline", "soon"])
    assert bad_date.exit_code == 2 and "'soon' is not a date" in bad_date.output
    help_ = runner.invoke(cli, ["status", "--help"])
    assert help_.exit_code == 0 and "--deadline DATE" in help_.output and "status-ROUND.xlsx" in help_.output
