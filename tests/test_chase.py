"""cmrg chase: reminder drafts for outstanding and rejected returns."""

from __future__ import annotations

import csv
import email
import email.policy

from click.testing import CliRunner

from cmrg_excel.programme.chase import chase_round
from cmrg_excel.intake.corrections import corrections_path
from cmrg_excel.cli import cli
from cmrg_excel.issue.mail import XLSX_TYPE
from tests.test_status import AFTER, BEFORE, add_submission, mixed, token_of  # noqa: F401 (fixture)

XLSX_MIME = "/".join(XLSX_TYPE)


def parse(path):
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def drafts_by_id(result):
    return {d.contract_id: d for d in result.drafts}


def test_drafts_for_outstanding_and_rejected_only(mixed):
    result = chase_round(mixed, today=AFTER)
    assert result.round == "R1"
    assert result.folder == mixed.outbox / "R1" / "chase-2026-12-05"
    by = drafts_by_id(result)
    assert set(by) == {"C-0002", "C-0003"}  # C-0001 was accepted

    outstanding = parse(by["C-0003"].eml)
    assert outstanding["To"].addresses[0].addr_spec == "jane.example@council.gov.uk"
    assert outstanding["To"].addresses[0].display_name == "Jane Example"
    assert outstanding["From"] == "cmrg@test.gov.uk"
    assert outstanding["X-Unsent"] == "1"
    assert outstanding["Subject"].strip() == "Overdue: contract self-assessment for C-0003, due 30/11/2026"
    body = outstanding.get_body(("plain",)).get_content()
    assert "We have not yet received your contract self-assessment for C-0003 (School meals)" in body
    assert "It was due on 30/11/2026." in body and body.count("30/11/2026") == 1
    assert "Your return is now 5 days overdue" in body
    assert "School meals" in body and "Test Council" in body and "$" not in body
    attachments = list(outstanding.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["C-0003.xlsx"]
    assert attachments[0].get_content_type() == XLSX_MIME
    assert attachments[0].get_content() == (mixed.outbox / "R1" / "C-0003.xlsx").read_bytes()

    rejected = parse(by["C-0002"].eml)
    body = rejected.get_body(("plain",)).get_content()
    assert "The return you sent on 14/11/2026 could not be accepted." in body
    assert "  - Assessment!E12 (activity 1.3): no rating given" in body
    assert "  - Attestation!C5: the name is missing" in body
    assert "old problem" not in body
    assert "Please correct your workbook and send it again." in body
    assert "5 days overdue" in body
    # no corrections workbook yet: nothing attached (the owner re-sends their own file)
    assert list(rejected.iter_attachments()) == []


def test_not_yet_due_reminder(mixed):
    by = drafts_by_id(chase_round(mixed, today=BEFORE))
    draft = parse(by["C-0003"].eml)
    body = draft.get_body(("plain",)).get_content()
    # before the deadline: a reminder, not a chaser, and the deadline said once
    assert draft["Subject"].strip() == "Reminder: contract self-assessment for C-0003, due 30/11/2026"
    assert "This is a reminder that your contract self-assessment for C-0003 (School meals)" in body
    assert "is due in 10 days, on 30/11/2026." in body and body.count("30/11/2026") == 1
    assert "overdue" not in body and "not yet received" not in body
    assert chase_round(mixed, today=BEFORE, overdue_only=True).drafts == []


def test_rejected_return_carries_its_corrections_workbook(mixed):
    hook = corrections_path(mixed, "R1", "C-0002")
    assert hook == mixed.outbox / "R1" / "corrections" / "C-0002.xlsx"
    hook.parent.mkdir(parents=True)
    hook.write_bytes(b"PK\x03\x04 stand-in corrections workbook")
    by = drafts_by_id(chase_round(mixed, today=AFTER))
    assert by["C-0002"].attachments == (hook,)
    msg = parse(by["C-0002"].eml)
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == "C-0002.xlsx"
    assert attachment.get_content_type() == XLSX_MIME
    assert attachment.get_content() == hook.read_bytes()
    body = msg.get_body(("plain",)).get_content()
    assert "attached corrections workbook" in body
    assert "Please correct your workbook" not in body


def test_rejected_return_without_corrections_gets_the_problem_list(issued):
    ws, _ = issued
    stored = "inbox/rejected/C-0001.xlsx"
    add_submission(ws, contract_id="C-0001", outcome="rejected", token=token_of(ws, "C-0001"),
                   problems=["Assessment!E9: rating is not on the list"], stored_path=stored)
    listing = ws.root / (stored + ".problems.txt")
    listing.parent.mkdir(parents=True, exist_ok=True)
    listing.write_text("Please fix the following ...", encoding="utf-8")
    draft = drafts_by_id(chase_round(ws, today=BEFORE))["C-0001"]
    assert draft.attachments == (listing,)
    msg = parse(draft.eml)
    assert [a.get_filename() for a in msg.iter_attachments()] == ["C-0001.xlsx.problems.txt"]
    assert "The attached list gives every problem" in msg.get_body(("plain",)).get_content()


def test_many_problems_are_cut_short(issued):
    ws, _ = issued
    add_submission(ws, contract_id="C-0001", outcome="rejected", token=token_of(ws, "C-0001"),
                   problems=[f"problem {i}" for i in range(1, 10)])
    body = parse(drafts_by_id(chase_round(ws, today=BEFORE))["C-0001"].eml).get_body(("plain",)).get_content()
    assert "  - problem 5" in body and "problem 6" not in body
    assert "... and 4 more" in body


def test_mailmerge_csv(mixed):
    result = chase_round(mixed, today=AFTER)
    assert result.mailmerge == result.folder / "mailmerge-chase.csv"
    with result.mailmerge.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["contract_id"] for r in rows] == ["C-0002", "C-0003"]
    c3 = rows[1]
    assert c3["owner_email"] == "jane.example@council.gov.uk"
    assert c3["deadline"] == "30/11/2026" and c3["status"] == "Overdue" and c3["days_overdue"] == "5"
    assert c3["attachment_path"].endswith("C-0003.xlsx")
    assert c3["eml_path"].endswith("C-0003.eml")
    assert rows[0]["attachment_path"] == "" and "no rating given" in rows[0]["status_text"]


def test_second_run_same_day_drops_drafts_of_returns_accepted_since(mixed):
    first = chase_round(mixed, today=AFTER)
    assert (first.folder / "C-0003.eml").exists()
    add_submission(mixed, contract_id="C-0003", outcome="accepted", token=token_of(mixed, "C-0003"))
    second = chase_round(mixed, today=AFTER)
    assert [d.contract_id for d in second.drafts] == ["C-0002"]
    assert not (first.folder / "C-0003.eml").exists()
    assert (first.folder / "C-0002.eml").exists()


# --- command line ----------------------------------------------------------------------
def test_cli_chase(mixed):
    result = CliRunner().invoke(cli, ["chase", "-w", str(mixed.root), "--deadline", "01/11/2026"])
    assert result.exit_code == 0, result.output
    assert "2 reminder draft(s)" in result.output
    assert "C-0002" in result.output and "C-0003.xlsx" in result.output
    assert "Nothing has been sent" in result.output
    folders = list((mixed.outbox / "R1").glob("chase-*"))
    assert len(folders) == 1 and len(list(folders[0].glob("*.eml"))) == 2


def test_cli_chase_nothing_to_do_and_errors(issued):
    ws, _ = issued
    for cid in ("C-0001", "C-0002", "C-0003"):
        add_submission(ws, contract_id=cid, outcome="accepted", token=token_of(ws, cid))
    runner = CliRunner()
    done = runner.invoke(cli, ["chase", "-w", str(ws.root)])
    assert done.exit_code == 0 and "no returns to chase (3 of 3 accepted)" in done.output
    bad = runner.invoke(cli, ["chase", "-w", str(ws.root), "--round", "nope"])
    assert bad.exit_code == 1 and "has not been issued" in bad.output
    help_ = runner.invoke(cli, ["chase", "--help"])
    assert help_.exit_code == 0 and "corrections/<contract>.xlsx" in help_.output


def test_unusable_email_templates_are_clear_errors_before_anything_is_written(issued):
    """A workspace's own email template without its Subject line (or not UTF-8) is refused by name,
    with no traceback, before a draft is written or a workbook issued."""
    ws, _ = issued
    (ws.root / "email-chase.txt").write_text("Dear $owner_name,\n\nPlease send it.\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["chase", "--workspace", str(ws.root)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "email-chase.txt: an email template must start with a line 'Subject: ...'" in r.output
    assert "'Dear $owner_name,'" in r.output
    assert not list((ws.outbox / "R1").glob("chase-*"))

    (ws.root / "email-issue.txt").write_bytes("Subject: Caf\xe9 review\n\nHello\n".encode("cp1252"))
    before = sorted(p.name for p in ws.outbox.rglob("*"))
    r = CliRunner().invoke(cli, ["generate", "--round", "R2", "--eml", "--workspace", str(ws.root)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "email-issue.txt: the email template is not saved as UTF-8 text" in r.output
    assert sorted(p.name for p in ws.outbox.rglob("*")) == before  # round R2 was not issued at all
